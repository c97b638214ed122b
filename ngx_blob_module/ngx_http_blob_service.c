
/*
 * ngx_blob_module: account-level operations.
 *
 * List Containers reads the account root: every directory with a valid
 * container name is a container (".blob", the module's own state, never
 * is one).  There are few containers, so a page reads the root whole and
 * sorts it; the marker is the name of the first container of the next page.
 *
 * The service properties document is kept as the client sent it, checked
 * and merged element by element, as Azure keeps what a Set leaves out.
 */


#include "ngx_http_blob_module.h"

#include <libxml/parser.h>
#include <libxml/tree.h>


#define NGX_HTTP_BLOB_SERVICE_XML_MAX  (64 * 1024)


typedef struct {
    ngx_str_t                        name;
    ngx_http_blob_container_props_t  props;
} ngx_http_blob_service_item_t;


typedef struct {
    ngx_str_t                        prefix;
    ngx_str_t                        marker;
    ngx_uint_t                       max;
    ngx_uint_t                       max_sent;
    unsigned                         has_prefix:1;
    unsigned                         has_marker:1;
    unsigned                         has_max:1;
    unsigned                         metadata:1;

    ngx_array_t                      items;
    ngx_str_t                        next;
} ngx_http_blob_service_list_t;


typedef struct {
    ngx_str_t                        body;       /* the request's */
    ngx_str_t                        stored;     /* service.xml */
    ngx_str_t                        merged;     /* to store */
    ngx_int_t                        rc;
} ngx_http_blob_service_props_t;


static ngx_int_t ngx_http_blob_service_include(
    ngx_http_blob_service_list_t *sl, ngx_str_t *value);
static void ngx_http_blob_list_containers_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_list_containers_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static int ngx_libc_cdecl ngx_http_blob_service_cmp(const void *one,
    const void *two);
static void ngx_http_blob_service_read_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_get_service_properties_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_service_properties_body(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_service_properties_read(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_service_properties_write(
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_service_properties_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_http_blob_error_e ngx_http_blob_service_merge(
    ngx_http_request_t *r, ngx_http_blob_service_props_t *sp);
static xmlDocPtr ngx_http_blob_service_parse(ngx_str_t *text);
static u_char *ngx_http_blob_service_path(ngx_pool_t *pool,
    ngx_http_blob_ctx_t *ctx);


/* the top-level elements of StorageServiceProperties, in Azure's order */

static char  *ngx_http_blob_service_elements[] = {
    "Logging",
    "HourMetrics",
    "MinuteMetrics",
    "Cors",
    "DefaultServiceVersion",
    "DeleteRetentionPolicy",
    "StaticWebsite",
    NULL
};


/* what a new account answers */

static ngx_str_t  ngx_http_blob_service_default = ngx_string(
    "<StorageServiceProperties>"
    "<Logging><Version>1.0</Version><Delete>false</Delete>"
    "<Read>false</Read><Write>false</Write>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>"
    "<HourMetrics><Version>1.0</Version><Enabled>false</Enabled>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>"
    "</HourMetrics>"
    "<MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>"
    "</MinuteMetrics>"
    "<Cors />"
    "<DeleteRetentionPolicy><Enabled>false</Enabled>"
    "</DeleteRetentionPolicy>"
    "<StaticWebsite><Enabled>false</Enabled></StaticWebsite>"
    "</StorageServiceProperties>");


/* List Containers */

ngx_int_t
ngx_http_blob_list_containers(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    u_char                        *p, *last, *end;
    ngx_int_t                      n;
    ngx_str_t                      value, raw;
    ngx_http_blob_error_detail_t   detail;
    ngx_http_blob_service_list_t  *sl;

    sl = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_service_list_t));
    if (sl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    switch (ngx_http_blob_arg_decoded(r, "prefix", &sl->prefix)) {

    case NGX_OK:
        sl->has_prefix = 1;
        break;

    case NGX_DECLINED:
        break;

    default:
        ngx_str_set(&detail.query_name, "prefix");
        return ngx_http_blob_error(r,
                               NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE,
                               &detail);
    }

    switch (ngx_http_blob_arg_decoded(r, "marker", &sl->marker)) {

    case NGX_OK:
        sl->has_marker = 1;
        break;

    case NGX_DECLINED:
        break;

    default:
        ngx_str_set(&detail.query_name, "marker");
        return ngx_http_blob_error(r,
                               NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE,
                               &detail);
    }

    sl->max = NGX_HTTP_BLOB_MAX_RESULTS;

    if (ngx_http_blob_arg(r, "maxresults", &value) == NGX_OK) {
        ngx_str_set(&detail.query_name, "maxresults");
        detail.query_value = value;

        if (value.len > 1 && value.data[0] == '-'
            && ngx_atoi(value.data + 1, value.len - 1) != NGX_ERROR)
        {
            /* a number, but not one in 1..5000 */
            return ngx_http_blob_error(r,
                          NGX_HTTP_BLOB_ERR_OUT_OF_RANGE_QUERY_PARAMETER_VALUE,
                          &detail);
        }

        n = ngx_atoi(value.data, value.len);

        if (n == NGX_ERROR || n > 0x7fffffff) {
            return ngx_http_blob_error(r,
                               NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE,
                               &detail);
        }

        if (n == 0) {
            return ngx_http_blob_error(r,
                          NGX_HTTP_BLOB_ERR_OUT_OF_RANGE_QUERY_PARAMETER_VALUE,
                          &detail);
        }

        sl->has_max = 1;
        sl->max_sent = n;

        if ((ngx_uint_t) n < sl->max) {
            sl->max = n;
        }
    }

    /* include: repeated, or comma-separated, or both */

    p = r->args.data;
    last = p + r->args.len;

    for ( /* void */ ; p < last; p = end + 1) {

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) < sizeof("include=") - 1
            || ngx_strncmp(p, "include=", sizeof("include=") - 1) != 0)
        {
            continue;
        }

        raw.data = p + sizeof("include=") - 1;
        raw.len = end - raw.data;

        if (ngx_http_blob_unescape(r->pool, &raw, &value, 1) != NGX_OK
            || ngx_http_blob_service_include(sl, &value) != NGX_OK)
        {
            ngx_str_set(&detail.query_name, "include");
            detail.query_value = raw;

            return ngx_http_blob_error(r,
                               NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE,
                               &detail);
        }
    }

    if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = sl;
    ctx->error = NGX_HTTP_BLOB_OK;

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_list_containers_work,
                                  ngx_http_blob_list_containers_done);

}


/* include=metadata; "deleted" and "system" have nothing to add here */

static ngx_int_t
ngx_http_blob_service_include(ngx_http_blob_service_list_t *sl,
    ngx_str_t *value)
{
    u_char  *p, *last, *comma;
    size_t   len;

    p = value->data;
    last = p + value->len;

    for ( ;; ) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        len = comma - p;

        if (len == sizeof("metadata") - 1
            && ngx_strncasecmp(p, (u_char *) "metadata", len) == 0)
        {
            sl->metadata = 1;

        } else if (!(len == 0
                     || (len == sizeof("deleted") - 1
                         && ngx_strncasecmp(p, (u_char *) "deleted", len)
                            == 0)
                     || (len == sizeof("system") - 1
                         && ngx_strncasecmp(p, (u_char *) "system", len)
                            == 0)))
        {
            return NGX_ERROR;
        }

        if (comma == last) {
            return NGX_OK;
        }

        p = comma + 1;
    }
}


static void
ngx_http_blob_list_containers_work(ngx_http_blob_ctx_t *ctx)
{
    u_char                        *path, *name;
    ngx_err_t                      err;
    ngx_str_t                      root, s;
    ngx_dir_t                      dir;
    ngx_uint_t                     i, n, is_dir;
    ngx_array_t                    names;
    ngx_http_blob_service_item_t  *item, *all;
    ngx_http_blob_service_list_t  *sl;

    sl = ctx->op_data;

    if (ngx_array_init(&names, ctx->task_pool, 16,
                       sizeof(ngx_http_blob_service_item_t))
        != NGX_OK
        || ngx_array_init(&sl->items, ctx->task_pool, 16,
                          sizeof(ngx_http_blob_service_item_t))
           != NGX_OK)
    {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    path = ngx_pnalloc(ctx->task_pool, ctx->account_root.len + 1 + NAME_MAX
                                       + 1);
    if (path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    name = ngx_cpymem(path, ctx->account_root.data, ctx->account_root.len);
    *name++ = '/';

    root = ctx->account_root;

    if (ngx_open_dir(&root, &dir) == NGX_ERROR) {
        ctx->err = ngx_errno;

        if (ctx->err == NGX_ENOENT) {
            /* an account nothing was ever stored in */
            ctx->err = 0;
            return;
        }

        ctx->failed = ngx_open_dir_n;
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            err = ngx_errno;

            if (err != NGX_ENOMOREFILES) {
                ctx->err = err;
                ctx->failed = ngx_read_dir_n;
                ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
                (void) ngx_close_dir(&dir);
                return;
            }

            break;
        }

        s.data = ngx_de_name(&dir);
        s.len = ngx_de_namelen(&dir);

        if (!ngx_http_blob_container_name_valid(&s)
            || (sl->prefix.len
                && (s.len < sl->prefix.len
                    || ngx_memcmp(s.data, sl->prefix.data, sl->prefix.len)
                       != 0))
            || ngx_memn2cmp(s.data, sl->marker.data, s.len, sl->marker.len)
               < 0)
        {
            continue;
        }

        if (dir.type == DT_DIR) {
            is_dir = 1;

        } else if (dir.type == DT_UNKNOWN) {
            ngx_memcpy(name, s.data, s.len + 1);
            is_dir = (ngx_de_link_info(path, &dir) != NGX_FILE_ERROR
                      && S_ISDIR(dir.info.st_mode));

        } else {
            is_dir = 0;
        }

        if (!is_dir) {
            continue;
        }

        item = ngx_array_push(&names);
        if (item == NULL) {
            (void) ngx_close_dir(&dir);
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return;
        }

        item->name.data = ngx_pnalloc(ctx->task_pool, s.len);
        if (item->name.data == NULL) {
            (void) ngx_close_dir(&dir);
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return;
        }

        ngx_memcpy(item->name.data, s.data, s.len);
        item->name.len = s.len;
    }

    (void) ngx_close_dir(&dir);

    ngx_qsort(names.elts, names.nelts, sizeof(ngx_http_blob_service_item_t),
              ngx_http_blob_service_cmp);

    all = names.elts;
    n = 0;

    for (i = 0; i < names.nelts; i++) {

        if (n == sl->max) {
            sl->next = all[i].name;
            break;
        }

        item = ngx_array_push(&sl->items);
        if (item == NULL) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return;
        }

        item->name = all[i].name;

        switch (ngx_http_blob_container_load(ctx->task_pool, ctx, &item->name,
                                             &item->props))
        {
        case NGX_OK:
            n++;
            break;

        case NGX_DECLINED:
            /* deleted since the root was read */
            sl->items.nelts--;
            break;

        default:
            return;
        }
    }
}


static int ngx_libc_cdecl
ngx_http_blob_service_cmp(const void *one, const void *two)
{
    const ngx_http_blob_service_item_t  *a = one;
    const ngx_http_blob_service_item_t  *b = two;

    return (int) ngx_memn2cmp(a->name.data, b->name.data, a->name.len,
                              b->name.len);
}


static void
ngx_http_blob_list_containers_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    u_char                        *p;
    ngx_str_t                      endpoint, etag, s;
    ngx_uint_t                     i, j;
    ngx_keyval_t                  *kv;
    ngx_http_blob_xml_t            x;
    ngx_http_blob_service_item_t  *item;
    ngx_http_blob_service_list_t  *sl;

    sl = ctx->op_data;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    if (ngx_http_blob_xml_endpoint(r, ctx, &endpoint) != NGX_OK
        || ngx_http_blob_xml_init(&x, r->pool) != NGX_OK)
    {
        ngx_http_blob_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_blob_xml_cstr(&x, "<EnumerationResults ServiceEndpoint=\"");
    ngx_http_blob_xml_text(&x, &endpoint);
    ngx_http_blob_xml_cstr(&x, "\">");

    if (sl->has_prefix) {
        ngx_http_blob_xml_element(&x, "Prefix", &sl->prefix);
    }

    if (sl->has_marker) {
        ngx_http_blob_xml_element(&x, "Marker", &sl->marker);
    }

    if (sl->has_max) {
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            ngx_http_blob_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        s.data = p;
        s.len = ngx_sprintf(p, "%ui", sl->max_sent) - p;
        ngx_http_blob_xml_element(&x, "MaxResults", &s);
    }

    if (sl->items.nelts == 0) {
        ngx_http_blob_xml_cstr(&x, "<Containers />");

    } else {
        ngx_http_blob_xml_open(&x, "Containers");

        item = sl->items.elts;

        for (i = 0; i < sl->items.nelts; i++) {
            ngx_http_blob_xml_open(&x, "Container");
            ngx_http_blob_xml_element(&x, "Name", &item[i].name);
            ngx_http_blob_xml_open(&x, "Properties");

            ngx_http_blob_xml_element_time(&x, "Last-Modified",
                                           item[i].props.last_modified);

            /* here, unlike in List Blobs, Azure quotes the ETag */

            if (ngx_http_blob_etag_format(r->pool, item[i].props.etag, 1,
                                          &etag)
                != NGX_OK)
            {
                ngx_http_blob_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            ngx_http_blob_xml_element(&x, "Etag", &etag);
            ngx_http_blob_xml_cstr(&x, "<LeaseStatus>unlocked</LeaseStatus>"
                                       "<LeaseState>available</LeaseState>");

            if (item[i].props.public_access.len) {
                ngx_http_blob_xml_element(&x, "PublicAccess",
                                          &item[i].props.public_access);
            }

            ngx_http_blob_xml_cstr(&x,
                        "<HasImmutabilityPolicy>false</HasImmutabilityPolicy>"
                        "<HasLegalHold>false</HasLegalHold>"
                        "</Properties>");

            if (sl->metadata) {
                if (item[i].props.metadata.nelts == 0) {
                    ngx_http_blob_xml_cstr(&x, "<Metadata />");

                } else {
                    ngx_http_blob_xml_open(&x, "Metadata");

                    kv = item[i].props.metadata.elts;

                    for (j = 0; j < item[i].props.metadata.nelts; j++) {
                        /* names are C# identifiers: safe as element names */
                        ngx_http_blob_xml_raw(&x, (u_char *) "<", 1);
                        ngx_http_blob_xml_raw(&x, kv[j].key.data,
                                              kv[j].key.len);
                        ngx_http_blob_xml_raw(&x, (u_char *) ">", 1);
                        ngx_http_blob_xml_text(&x, &kv[j].value);
                        ngx_http_blob_xml_raw(&x, (u_char *) "</", 2);
                        ngx_http_blob_xml_raw(&x, kv[j].key.data,
                                              kv[j].key.len);
                        ngx_http_blob_xml_raw(&x, (u_char *) ">", 1);
                    }

                    ngx_http_blob_xml_close(&x, "Metadata");
                }
            }

            ngx_http_blob_xml_close(&x, "Container");
        }

        ngx_http_blob_xml_close(&x, "Containers");
    }

    ngx_http_blob_xml_element(&x, "NextMarker", &sl->next);
    ngx_http_blob_xml_cstr(&x, "</EnumerationResults>");

    ngx_http_blob_finalize(r, ngx_http_blob_xml_send(r, ctx, NGX_HTTP_OK,
                                                     &x));
}


/* Get Account Information: what clients ask before choosing a strategy */

ngx_int_t
ngx_http_blob_get_account_info(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t  rc;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;

    if (ngx_http_blob_header_out_cstr(r, "x-ms-sku-name", "Standard_LRS")
        != NGX_OK
        || ngx_http_blob_header_out_cstr(r, "x-ms-account-kind", "StorageV2")
           != NGX_OK
        || ngx_http_blob_header_out_cstr(r, "x-ms-is-hns-enabled", "false")
           != NGX_OK
        || ngx_http_blob_common_headers(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_send_special(r, NGX_HTTP_LAST);
}


static u_char *
ngx_http_blob_service_path(ngx_pool_t *pool, ngx_http_blob_ctx_t *ctx)
{
    u_char  *path;

    path = ngx_pnalloc(pool, ctx->account_root.len
                             + sizeof("/" NGX_HTTP_BLOB_STATE_DIR
                                      "/service.xml"));
    if (path == NULL) {
        return NULL;
    }

    ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/service.xml%Z",
                &ctx->account_root);

    return path;
}


/*
 * Reads service.xml into op_data's "stored", and for a Set the staged
 * body into "body"; a missing service.xml leaves "stored" empty.
 */

static void
ngx_http_blob_service_read_work(ngx_http_blob_ctx_t *ctx)
{
    u_char                         *path;
    ngx_int_t                       rc;
    ngx_http_blob_service_props_t  *sp;

    sp = ctx->op_data;
    sp->rc = NGX_ERROR;

    if (ctx->temp_path.len) {
        rc = ngx_http_blob_store_read_file(ctx->task_pool, ctx,
                                           ctx->temp_path.data, &sp->body,
                                           NGX_HTTP_BLOB_SERVICE_XML_MAX);

        (void) ngx_delete_file(ctx->temp_path.data);
        ctx->committed = 1;

        if (rc != NGX_OK) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return;
        }
    }

    path = ngx_http_blob_service_path(ctx->task_pool, ctx);
    if (path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    rc = ngx_http_blob_store_read_file(ctx->task_pool, ctx, path, &sp->stored,
                                       NGX_HTTP_BLOB_SERVICE_XML_MAX);

    if (rc == NGX_DECLINED && ctx->err == NGX_ENOENT) {
        ctx->err = 0;
        ctx->failed = NULL;
        ngx_str_null(&sp->stored);

    } else if (rc != NGX_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    sp->rc = NGX_OK;
}


/* Get Blob Service Properties */

ngx_int_t
ngx_http_blob_get_service_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_service_props_t  *sp;

    sp = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_service_props_t));
    if (sp == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = sp;
    ctx->error = NGX_HTTP_BLOB_OK;

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_service_read_work,
                              ngx_http_blob_get_service_properties_done);
}


static void
ngx_http_blob_get_service_properties_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_xml_t             x;
    ngx_http_blob_service_props_t  *sp;

    sp = ctx->op_data;

    if (sp->rc != NGX_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    if (ngx_http_blob_xml_init(&x, r->pool) != NGX_OK) {
        ngx_http_blob_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* stored without the declaration, by the Set below */

    if (sp->stored.len) {
        ngx_http_blob_xml_raw(&x, sp->stored.data, sp->stored.len);

    } else {
        ngx_http_blob_xml_raw(&x, ngx_http_blob_service_default.data,
                              ngx_http_blob_service_default.len);
    }

    ngx_http_blob_finalize(r, ngx_http_blob_xml_send(r, ctx, NGX_HTTP_OK,
                                                     &x));
}


/* Set Blob Service Properties */

ngx_int_t
ngx_http_blob_set_service_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_service_props_t  *sp;

    if (r->headers_in.content_length_n > NGX_HTTP_BLOB_SERVICE_XML_MAX) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE,
                                   NULL);
    }

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT,
                                   NULL);
    }

    sp = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_service_props_t));
    if (sp == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = sp;
    ctx->error = NGX_HTTP_BLOB_OK;

    return ngx_http_blob_body_read(r, ctx,
                                   ngx_http_blob_set_service_properties_body);
}


static void
ngx_http_blob_set_service_properties_body(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    if (ctx->body_received > NGX_HTTP_BLOB_SERVICE_XML_MAX) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                      NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE,
                                      NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_task_run(r, ctx,
                              ngx_http_blob_service_read_work,
                              ngx_http_blob_set_service_properties_read));
}


static void
ngx_http_blob_set_service_properties_read(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_error_e           error;
    ngx_http_blob_service_props_t  *sp;

    sp = ctx->op_data;

    if (sp->rc != NGX_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    error = ngx_http_blob_service_merge(r, sp);

    if (error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, error, NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_task_run(r, ctx,
                              ngx_http_blob_set_service_properties_write,
                              ngx_http_blob_set_service_properties_done));
}


static void
ngx_http_blob_set_service_properties_write(ngx_http_blob_ctx_t *ctx)
{
    u_char                         *path;
    ngx_http_blob_service_props_t  *sp;

    sp = ctx->op_data;
    sp->rc = NGX_ERROR;

    path = ngx_http_blob_service_path(ctx->task_pool, ctx);
    if (path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    if (ngx_http_blob_store_write_file(ctx, path, sp->merged.data,
                                       sp->merged.len)
        != NGX_OK)
    {
        if (ctx->error == NGX_HTTP_BLOB_OK) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }

        return;
    }

    sp->rc = NGX_OK;
}


static void
ngx_http_blob_set_service_properties_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                       rc;
    ngx_http_blob_service_props_t  *sp;

    sp = ctx->op_data;

    if (sp->rc != NGX_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    r->headers_out.status = NGX_HTTP_ACCEPTED;
    r->headers_out.content_length_n = 0;

    if (ngx_http_blob_common_headers(r, ctx) != NGX_OK) {
        ngx_http_blob_finalize(r, NGX_ERROR);
        return;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_blob_finalize(r, rc);
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_send_special(r, NGX_HTTP_LAST));
}


/* a document from the network: no DTD, no entities, no network access */

static xmlDocPtr
ngx_http_blob_service_parse(ngx_str_t *text)
{
    xmlDocPtr   doc;
    xmlNodePtr  root;

    if (ngx_strnstr(text->data, "<!DOCTYPE", text->len)
        || ngx_strnstr(text->data, "<!ENTITY", text->len))
    {
        return NULL;
    }

    doc = xmlReadMemory((char *) text->data, text->len, NULL, NULL,
                        XML_PARSE_NONET|XML_PARSE_NOBLANKS
                        |XML_PARSE_NOERROR|XML_PARSE_NOWARNING);
    if (doc == NULL) {
        return NULL;
    }

    /*
     * the search above reads bytes, not characters: a UTF-16 document
     * hides its DOCTYPE from it, libxml2 does not; an entity reference
     * kept in the tree would also be stored without its declaration
     */

    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        xmlFreeDoc(doc);
        return NULL;
    }

    root = xmlDocGetRootElement(doc);

    if (root == NULL
        || xmlStrcmp(root->name,
                     (const xmlChar *) "StorageServiceProperties") != 0)
    {
        xmlFreeDoc(doc);
        return NULL;
    }

    return doc;
}


/*
 * The request's elements replace the stored ones of the same name; those
 * it leaves out stay.  The result is written in Azure's element order.
 */

static ngx_http_blob_error_e
ngx_http_blob_service_merge(ngx_http_request_t *r,
    ngx_http_blob_service_props_t *sp)
{
    u_char                 *p;
    size_t                  len;
    xmlDocPtr               req, old;
    xmlNodePtr              node, found;
    xmlBufferPtr            buf;
    ngx_uint_t              known;
    ngx_str_t              *stored;
    char                  **name;
    ngx_http_blob_error_e   error;

    req = ngx_http_blob_service_parse(&sp->body);
    if (req == NULL) {
        return NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT;
    }

    /*
     * every element must be one Azure knows, without a namespace: a
     * prefixed element would be stored without its xmlns declaration,
     * which the next read no longer recognizes (found by fuzz/)
     */

    for (node = xmlDocGetRootElement(req)->children; node; node = node->next)
    {
        if (node->type != XML_ELEMENT_NODE) {
            continue;
        }

        known = 0;

        if (node->ns != NULL) {
            xmlFreeDoc(req);
            return NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT;
        }

        for (name = ngx_http_blob_service_elements; *name; name++) {
            if (xmlStrcmp(node->name, (const xmlChar *) *name) == 0) {
                known = 1;
                break;
            }
        }

        if (!known) {
            xmlFreeDoc(req);
            return NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT;
        }
    }

    stored = sp->stored.len ? &sp->stored : &ngx_http_blob_service_default;

    old = ngx_http_blob_service_parse(stored);
    if (old == NULL) {
        /* damaged on disk: start from the defaults */
        old = ngx_http_blob_service_parse(&ngx_http_blob_service_default);
        if (old == NULL) {
            xmlFreeDoc(req);
            return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }
    }

    error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;

    buf = xmlBufferCreate();
    if (buf == NULL) {
        goto done;
    }

    xmlBufferCCat(buf, "<StorageServiceProperties>");

    for (name = ngx_http_blob_service_elements; *name; name++) {

        found = NULL;

        for (node = xmlDocGetRootElement(req)->children; node;
             node = node->next)
        {
            if (node->type == XML_ELEMENT_NODE
                && xmlStrcmp(node->name, (const xmlChar *) *name) == 0)
            {
                found = node;
            }
        }

        if (found) {
            xmlNodeDump(buf, req, found, 0, 0);
            continue;
        }

        for (node = xmlDocGetRootElement(old)->children; node;
             node = node->next)
        {
            if (node->type == XML_ELEMENT_NODE
                && xmlStrcmp(node->name, (const xmlChar *) *name) == 0)
            {
                found = node;
            }
        }

        if (found) {
            xmlNodeDump(buf, old, found, 0, 0);
        }
    }

    xmlBufferCCat(buf, "</StorageServiceProperties>");

    len = xmlBufferLength(buf);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        goto done;
    }

    ngx_memcpy(p, xmlBufferContent(buf), len);

    sp->merged.data = p;
    sp->merged.len = len;

    error = NGX_HTTP_BLOB_OK;

done:

    if (buf) {
        xmlBufferFree(buf);
    }

    xmlFreeDoc(req);
    xmlFreeDoc(old);

    return error;
}


/*
 * ngx_blob_module: the content handler.
 *
 * Turns a request into (account, container, blob, operation): the URL in
 * path style (/account/container/blob) or virtual-host style
 * (account.blob.<suffix>), names percent-decoded from the raw request line
 * (nginx's own r->uri has merged slashes and resolved dot segments, which
 * would change a blob's name), the operation found in one table by method,
 * resource level, restype and comp.  Then authorization, then the
 * operation.
 */


#include "ngx_http_blob_module.h"


static ngx_int_t ngx_http_blob_parse_target(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail);
static ngx_http_blob_account_t *ngx_http_blob_find_account(
    ngx_http_blob_loc_conf_t *blcf, u_char *name, size_t len);
static ngx_int_t ngx_http_blob_find_op(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail);
static ngx_int_t ngx_http_blob_run_op(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_public_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_public_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_http_blob_ctx_t *ngx_http_blob_create_ctx(ngx_http_request_t *r);
static ngx_uint_t ngx_http_blob_version_valid(ngx_str_t *v);
static void ngx_http_blob_inflight_cleanup(void *data);
static void ngx_http_blob_fd_cleanup(void *data);


#define NGX_HTTP_BLOB_GETHEAD  (NGX_HTTP_GET|NGX_HTTP_HEAD)

#define ngx_http_blob_op(name, method, level, restype, comp, perm, flags,     \
                         handler)                                            \
    { ngx_string(name), method, level, ngx_string(restype),                  \
      ngx_string(comp), perm, flags, handler }

/* flags: any_level, public_read, reads_body */
#define F_NONE    0, 0, 0
#define F_ANY     1, 0, 0
#define F_PUBLIC  0, 1, 0
#define F_BODY    0, 0, 1

#define S   NGX_HTTP_BLOB_LEVEL_SERVICE
#define C   NGX_HTTP_BLOB_LEVEL_CONTAINER
#define B   NGX_HTTP_BLOB_LEVEL_BLOB

#define P_R   NGX_HTTP_BLOB_PERM_READ
#define P_W   NGX_HTTP_BLOB_PERM_WRITE
#define P_CW  (NGX_HTTP_BLOB_PERM_CREATE|NGX_HTTP_BLOB_PERM_WRITE)
#define P_D   NGX_HTTP_BLOB_PERM_DELETE
#define P_L   NGX_HTTP_BLOB_PERM_LIST
#define P_ANY (P_R|P_W|P_CW|P_D|P_L|NGX_HTTP_BLOB_PERM_ADD)


static ngx_http_blob_op_t  ngx_http_blob_ops[] = {

    ngx_http_blob_op("GetAccountInfo", NGX_HTTP_BLOB_GETHEAD, S, "account",
                     "properties", P_ANY, F_ANY,
                     ngx_http_blob_get_account_info),

    /* service */

    ngx_http_blob_op("ListContainers", NGX_HTTP_GET, S, "", "list", P_L,
                     F_NONE, ngx_http_blob_list_containers),
    ngx_http_blob_op("GetBlobServiceProperties", NGX_HTTP_GET, S, "service",
                     "properties", P_R, F_NONE,
                     ngx_http_blob_get_service_properties),
    ngx_http_blob_op("SetBlobServiceProperties", NGX_HTTP_PUT, S, "service",
                     "properties", P_W, F_BODY,
                     ngx_http_blob_set_service_properties),

    /* container */

    ngx_http_blob_op("CreateContainer", NGX_HTTP_PUT, C, "container", "",
                     P_CW, F_NONE, ngx_http_blob_create_container),
    ngx_http_blob_op("GetContainerProperties", NGX_HTTP_BLOB_GETHEAD, C,
                     "container", "", P_R, F_NONE,
                     ngx_http_blob_get_container_properties),
    ngx_http_blob_op("GetContainerMetadata", NGX_HTTP_BLOB_GETHEAD, C,
                     "container", "metadata", P_R, F_NONE,
                     ngx_http_blob_get_container_properties),
    ngx_http_blob_op("SetContainerMetadata", NGX_HTTP_PUT, C, "container",
                     "metadata", P_W, F_NONE,
                     ngx_http_blob_set_container_metadata),
    ngx_http_blob_op("GetContainerACL", NGX_HTTP_BLOB_GETHEAD, C,
                     "container", "acl", P_R, F_NONE,
                     ngx_http_blob_get_container_acl),
    ngx_http_blob_op("SetContainerACL", NGX_HTTP_PUT, C, "container", "acl",
                     P_W, F_BODY, ngx_http_blob_set_container_acl),
    ngx_http_blob_op("DeleteContainer", NGX_HTTP_DELETE, C, "container", "",
                     P_D, F_NONE, ngx_http_blob_delete_container),
    ngx_http_blob_op("ListBlobs", NGX_HTTP_GET, C, "container", "list", P_L,
                     F_PUBLIC, ngx_http_blob_list_blobs),

    /* blob */

    ngx_http_blob_op("PutBlob", NGX_HTTP_PUT, B, "", "", P_CW, F_BODY,
                     ngx_http_blob_put_blob),
    ngx_http_blob_op("GetBlob", NGX_HTTP_GET, B, "", "", P_R, F_PUBLIC,
                     ngx_http_blob_get_blob),
    ngx_http_blob_op("GetBlobProperties", NGX_HTTP_HEAD, B, "", "", P_R,
                     F_PUBLIC, ngx_http_blob_get_blob_properties),
    ngx_http_blob_op("SetBlobProperties", NGX_HTTP_PUT, B, "", "properties",
                     P_W, F_NONE, ngx_http_blob_set_blob_properties),
    ngx_http_blob_op("GetBlobMetadata", NGX_HTTP_BLOB_GETHEAD, B, "",
                     "metadata", P_R, F_PUBLIC,
                     ngx_http_blob_get_blob_metadata),
    ngx_http_blob_op("SetBlobMetadata", NGX_HTTP_PUT, B, "", "metadata", P_W,
                     F_NONE, ngx_http_blob_set_blob_metadata),
    ngx_http_blob_op("DeleteBlob", NGX_HTTP_DELETE, B, "", "", P_D, F_NONE,
                     ngx_http_blob_delete_blob),
    ngx_http_blob_op("PutBlock", NGX_HTTP_PUT, B, "", "block", P_CW, F_BODY,
                     ngx_http_blob_put_block),
    ngx_http_blob_op("PutBlockList", NGX_HTTP_PUT, B, "", "blocklist", P_CW,
                     F_BODY, ngx_http_blob_put_block_list),
    ngx_http_blob_op("GetBlockList", NGX_HTTP_BLOB_GETHEAD, B, "",
                     "blocklist", P_R, F_NONE, ngx_http_blob_get_block_list),

    /* page and append blobs are out of scope: Azure's answer for them */

    ngx_http_blob_op("PutPage", NGX_HTTP_PUT, B, "", "page", P_W, F_NONE,
                     ngx_http_blob_unsupported_blob_type),
    ngx_http_blob_op("GetPageRanges", NGX_HTTP_GET, B, "", "pagelist", P_R,
                     F_NONE, ngx_http_blob_unsupported_blob_type),
    ngx_http_blob_op("AppendBlock", NGX_HTTP_PUT, B, "", "appendblock", P_W,
                     F_NONE, ngx_http_blob_unsupported_blob_type),
    ngx_http_blob_op("Seal", NGX_HTTP_PUT, B, "", "seal", P_W, F_NONE,
                     ngx_http_blob_unsupported_blob_type),

    { ngx_null_string, 0, 0, ngx_null_string, ngx_null_string, 0, 0, 0, 0,
      NULL }
};


ngx_int_t
ngx_http_blob_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_pool_cleanup_t            *cln;
    ngx_http_blob_ctx_t           *ctx;
    ngx_http_blob_loc_conf_t      *blcf;
    ngx_http_blob_main_conf_t     *bmcf;
    ngx_http_blob_error_detail_t   detail;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    blcf = ngx_http_get_module_loc_conf(r, ngx_http_blob_module);
    bmcf = ngx_http_get_module_main_conf(r, ngx_http_blob_module);

    ctx = ngx_http_blob_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    if (blcf->max_inflight && bmcf->inflight >= blcf->max_inflight) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_SERVER_BUSY, NULL);
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    bmcf->inflight++;
    cln->handler = ngx_http_blob_inflight_cleanup;
    cln->data = bmcf;

    /*
     * a file a thread task opened is closed with the request, also when
     * the client went away before the task's result was looked at
     */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_blob_fd_cleanup;
    cln->data = ctx;

    if (!(r->method
          & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_PUT|NGX_HTTP_DELETE)))
    {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_UNSUPPORTED_METHOD,
                                   NULL);
    }

    rc = ngx_http_blob_parse_target(r, ctx, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    rc = ngx_http_blob_find_op(r, ctx, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    if (ngx_http_blob_store_paths(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_blob_authorize(r, ctx, &detail);

    if (rc == NGX_OK) {
        return ngx_http_blob_run_op(r, ctx);
    }

    if (rc == NGX_DECLINED) {

        if (!ctx->op->public_read || !blcf->anonymous) {
            return ngx_http_blob_error(r,
                               NGX_HTTP_BLOB_ERR_NO_AUTHENTICATION_INFORMATION,
                               NULL);
        }

        /* anonymous reads depend on the container's public access level */

        ctx->anonymous = 1;

        if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_blob_task_run(r, ctx, ngx_http_blob_public_work,
                                      ngx_http_blob_public_done);
    }

    if (ctx->error == NGX_HTTP_BLOB_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED;
    }

    return ngx_http_blob_error(r, ctx->error, &detail);
}


/* "YYYY-MM-DD" */

static ngx_uint_t
ngx_http_blob_version_valid(ngx_str_t *v)
{
    ngx_uint_t  i;

    if (v->len != sizeof("2021-12-02") - 1) {
        return 0;
    }

    for (i = 0; i < v->len; i++) {
        if (i == 4 || i == 7) {
            if (v->data[i] != '-') {
                return 0;
            }

        } else if (v->data[i] < '0' || v->data[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static ngx_http_blob_ctx_t *
ngx_http_blob_create_ctx(ngx_http_request_t *r)
{
    u_char               *p;
    ngx_str_t             version;
    ngx_http_blob_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_blob_module);

    ctx->request = r;
    ctx->conf = ngx_http_get_module_loc_conf(r, ngx_http_blob_module);
    ctx->fd = NGX_INVALID_FILE;

    /* a version 4 UUID, as Azure's x-ms-request-id */

    p = ctx->request_id_buf;
    p = ngx_sprintf(p, "%08xD-%04xD-4%03xD-%04xD-%08xD%04xD",
                    (uint32_t) ngx_random(),
                    (uint32_t) ngx_random() & 0xffff,
                    (uint32_t) ngx_random() & 0xfff,
                    ((uint32_t) ngx_random() & 0x3fff) | 0x8000,
                    (uint32_t) ngx_random(),
                    (uint32_t) ngx_random() & 0xffff);
    ctx->request_id.data = ctx->request_id_buf;
    ctx->request_id.len = p - ctx->request_id_buf;

    /* any version is accepted: clients newer than this module must work */

    if (ngx_http_blob_header_in_value(r, "x-ms-version", &version) == NGX_OK
        && version.len <= 32)
    {
        ctx->version = version;

    } else if (ngx_http_blob_arg(r, "sv", &version) == NGX_OK
               && ngx_http_blob_version_valid(&version))
    {
        /* a SAS request without the header runs at the SAS's version */
        ctx->version = version;

    } else {
        ngx_str_set(&ctx->version, NGX_HTTP_BLOB_VERSION_DEFAULT);
    }

    return ctx;
}


/* the error_page target for requests nginx refused itself (blob_refused) */

ngx_int_t
ngx_http_blob_refused_handler(ngx_http_request_t *r)
{
    ngx_http_blob_error_e  error;

    if (ngx_http_blob_create_ctx(r) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (r->err_status) {

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        error = NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE;
        break;

    case NGX_HTTP_REQUEST_HEADER_TOO_LARGE:
        error = NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE;
        break;

    case NGX_HTTP_NOT_IMPLEMENTED:
        /* a Transfer-Encoding nginx does not know */
        error = NGX_HTTP_BLOB_ERR_UNSUPPORTED_HEADER;
        break;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        /* limit_conn, limit_req: overload, as Azure says it */
        error = NGX_HTTP_BLOB_ERR_SERVER_BUSY;
        break;

    default:
        /* a malformed request line or URI: %00, a bad escape, "/../.." */
        error = NGX_HTTP_BLOB_ERR_INVALID_URI;
    }

    r->keepalive = 0;

    return ngx_http_blob_error(r, error, NULL);
}


static void
ngx_http_blob_inflight_cleanup(void *data)
{
    ngx_http_blob_main_conf_t  *bmcf = data;

    bmcf->inflight--;
}


static void
ngx_http_blob_fd_cleanup(void *data)
{
    ngx_http_blob_ctx_t  *ctx = data;

    if (ctx->fd != NGX_INVALID_FILE) {
        (void) ngx_close_file(ctx->fd);
        ctx->fd = NGX_INVALID_FILE;
    }
}


static ngx_int_t
ngx_http_blob_run_op(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "blob op: %V", &ctx->op->name);

    return ctx->op->handler(r, ctx);
}


static void
ngx_http_blob_public_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_container_props_t  *props;

    props = ngx_pcalloc(ctx->task_pool,
                        sizeof(ngx_http_blob_container_props_t));
    if (props == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    ctx->op_data = props;

    if (ngx_http_blob_container_load(ctx->task_pool, ctx, &ctx->container,
                                     props)
        != NGX_OK)
    {
        ctx->op_data = NULL;
    }
}


static void
ngx_http_blob_public_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_str_t                        *access;
    ngx_http_blob_container_props_t  *props;

    props = ctx->op_data;
    ctx->op_data = NULL;

    /*
     * Azure answers an anonymous request for a private container as if
     * the resource did not exist, so its existence is not disclosed
     */

    if (props == NULL) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                        NGX_HTTP_BLOB_ERR_RESOURCE_NOT_FOUND,
                                        NULL));
        return;
    }

    access = &props->public_access;

    if ((access->len == sizeof("container") - 1
         && ngx_strncmp(access->data, "container", access->len) == 0)
        || (access->len == sizeof("blob") - 1
            && ngx_strncmp(access->data, "blob", access->len) == 0
            && ctx->level == NGX_HTTP_BLOB_LEVEL_BLOB))
    {
        ngx_http_blob_finalize(r, ngx_http_blob_run_op(r, ctx));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                        NGX_HTTP_BLOB_ERR_RESOURCE_NOT_FOUND,
                                        NULL));
}


static ngx_int_t
ngx_http_blob_parse_target(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_error_detail_t *detail)
{
    u_char                   *p, *last, *seg;
    size_t                    hlen;
    ngx_str_t                 raw, host, account, container, blob;
    ngx_http_blob_loc_conf_t *blcf;

    blcf = ctx->conf;

    /* the path as sent, without the query string */

    raw.data = r->unparsed_uri.data;
    raw.len = r->args_start ? (size_t) (r->args_start - 1 - raw.data)
                            : r->unparsed_uri.len;

    if (raw.len == 0 || raw.data[0] != '/') {
        return NGX_HTTP_BLOB_ERR_INVALID_URI;
    }

    ctx->canonical_uri = raw;

    p = raw.data + 1;
    last = raw.data + raw.len;

    ngx_str_null(&account);

    /* virtual-host style: <account>.<host suffix> */

    host = r->headers_in.server;

    if (blcf->host_suffix.len && host.len > blcf->host_suffix.len + 1) {
        hlen = host.len - blcf->host_suffix.len;

        if (host.data[hlen - 1] == '.'
            && ngx_strncasecmp(host.data + hlen, blcf->host_suffix.data,
                               blcf->host_suffix.len) == 0
            && ngx_strlchr(host.data, host.data + hlen - 1, '.') == NULL)
        {
            account.data = host.data;
            account.len = hlen - 1;
            ctx->host_style = 1;
        }
    }

    if (!ctx->host_style) {
        seg = p;

        while (p < last && *p != '/') {
            p++;
        }

        account.data = seg;
        account.len = p - seg;

        if (p < last) {
            p++;
        }
    }

    ctx->account = ngx_http_blob_find_account(blcf, account.data,
                                              account.len);
    if (ctx->account == NULL) {
        detail->reason = account;
        return NGX_HTTP_BLOB_ERR_ACCOUNT_NOT_FOUND;
    }

    /* container: up to the first slash, never percent-encoded in Azure */

    seg = p;

    while (p < last && *p != '/') {
        p++;
    }

    raw.data = seg;
    raw.len = p - seg;

    if (ngx_http_blob_unescape(r->pool, &raw, &container, 0) != NGX_OK) {
        return NGX_HTTP_BLOB_ERR_INVALID_URI;
    }

    ctx->container = container;

    if (p < last) {
        p++;
    }

    raw.data = p;
    raw.len = last - p;

    if (ngx_http_blob_unescape(r->pool, &raw, &blob, 0) != NGX_OK) {
        return NGX_HTTP_BLOB_ERR_INVALID_URI;
    }

    /* Azure's front end reads a backslash in a blob name as a slash */

    if (ngx_strlchr(blob.data, blob.data + blob.len, '\\') != NULL) {

        if (blob.data == raw.data) {
            blob.data = ngx_pnalloc(r->pool, raw.len);
            if (blob.data == NULL) {
                return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            }

            ngx_memcpy(blob.data, raw.data, raw.len);
        }

        for (p = blob.data; p < blob.data + blob.len; p++) {
            if (*p == '\\') {
                *p = '/';
            }
        }
    }

    ctx->blob = blob;

    if (container.len == 0) {

        if (blob.len) {
            /*
             * "/account//name": an empty container, not the service
             * (which would serve List Containers for "//x?comp=list";
             * found by fuzz/)
             */
            return NGX_HTTP_BLOB_ERR_INVALID_RESOURCE_NAME;
        }

        ctx->level = NGX_HTTP_BLOB_LEVEL_SERVICE;
        return NGX_HTTP_BLOB_OK;
    }

    if (!ngx_http_blob_container_name_valid(&container)) {
        return NGX_HTTP_BLOB_ERR_INVALID_RESOURCE_NAME;
    }

    if (blob.len == 0) {
        ctx->level = NGX_HTTP_BLOB_LEVEL_CONTAINER;
        return NGX_HTTP_BLOB_OK;
    }

    ctx->level = NGX_HTTP_BLOB_LEVEL_BLOB;

    if (!ngx_http_blob_blob_name_valid(&blob)) {
        return NGX_HTTP_BLOB_ERR_INVALID_RESOURCE_NAME;
    }

    return NGX_HTTP_BLOB_OK;
}


static ngx_http_blob_account_t *
ngx_http_blob_find_account(ngx_http_blob_loc_conf_t *blcf, u_char *name,
    size_t len)
{
    ngx_uint_t                i;
    ngx_http_blob_account_t  *account;

    account = blcf->accounts->elts;

    for (i = 0; i < blcf->accounts->nelts; i++) {
        if (account[i].name.len == len
            && ngx_strncmp(account[i].name.data, name, len) == 0)
        {
            return &account[i];
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_blob_find_op(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_error_detail_t *detail)
{
    ngx_str_t            restype, comp;
    ngx_uint_t           known_comp, known_resource;
    ngx_http_blob_op_t  *op;

    if (ngx_http_blob_arg(r, "restype", &restype) != NGX_OK) {
        ngx_str_null(&restype);
    }

    if (ngx_http_blob_arg(r, "comp", &comp) != NGX_OK) {
        ngx_str_null(&comp);
    }

    known_comp = 0;
    known_resource = 0;

    for (op = ngx_http_blob_ops; op->handler; op++) {

        if (op->level != ctx->level && !op->any_level) {
            continue;
        }

        /* an absent parameter has a NULL data: no strncmp() on it */

        if (op->restype.len != restype.len
            || (restype.len
                && ngx_strncmp(op->restype.data, restype.data, restype.len)
                   != 0))
        {
            continue;
        }

        known_resource = 1;

        if (op->comp.len != comp.len
            || (comp.len
                && ngx_strncmp(op->comp.data, comp.data, comp.len) != 0))
        {
            continue;
        }

        known_comp = 1;

        if (op->method & r->method) {
            ctx->op = op;
            return NGX_HTTP_BLOB_OK;
        }
    }

    if (known_comp) {
        return NGX_HTTP_BLOB_ERR_UNSUPPORTED_METHOD;
    }

    if (known_resource && comp.len) {
        ngx_str_set(&detail->query_name, "comp");
        detail->query_value = comp;
        return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
    }

    if (restype.len) {
        ngx_str_set(&detail->query_name, "restype");
        detail->query_value = restype;
        return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
    }

    return NGX_HTTP_BLOB_ERR_INVALID_URI;
}


/* the raw value of a query parameter, matched exactly by name */

ngx_int_t
ngx_http_blob_arg(ngx_http_request_t *r, char *name, ngx_str_t *value)
{
    u_char  *p, *last, *end;
    size_t   len;

    if (r->args.len == 0) {
        /* no query: args.data is NULL, no pointer arithmetic on it */
        ngx_str_null(value);
        return NGX_DECLINED;
    }

    len = ngx_strlen(name);

    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) >= len
            && ngx_strncmp(p, name, len) == 0
            && (p + len == end || p[len] == '='))
        {
            value->data = (p + len == end) ? end : p + len + 1;
            value->len = end - value->data;
            return NGX_OK;
        }

        p = end + 1;
    }

    ngx_str_null(value);

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_blob_arg_decoded(ngx_http_request_t *r, char *name, ngx_str_t *value)
{
    ngx_str_t  raw;

    if (ngx_http_blob_arg(r, name, &raw) != NGX_OK) {
        ngx_str_null(value);
        return NGX_DECLINED;
    }

    /* in a query string "+" is a space, as Azure (and rclone) have it */

    if (ngx_http_blob_unescape(r->pool, &raw, value, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Strict percent-decoding: a malformed escape or an encoded NUL is an
 * error, never silently kept, so no name can mean two things.
 */

ngx_int_t
ngx_http_blob_unescape(ngx_pool_t *pool, ngx_str_t *src, ngx_str_t *dst,
    ngx_uint_t plus_is_space)
{
    u_char      *p, *d, c, h, l;
    ngx_uint_t   escaped;

    escaped = 0;

    for (p = src->data; p < src->data + src->len; p++) {
        if (*p == '%' || (plus_is_space && *p == '+')) {
            escaped = 1;
            break;
        }
    }

    if (!escaped) {
        *dst = *src;
        return NGX_OK;
    }

    d = ngx_pnalloc(pool, src->len);
    if (d == NULL) {
        return NGX_ERROR;
    }

    dst->data = d;

    for (p = src->data; p < src->data + src->len; p++) {

        if (*p == '+' && plus_is_space) {
            *d++ = ' ';
            continue;
        }

        if (*p != '%') {
            *d++ = *p;
            continue;
        }

        if (src->data + src->len - p < 3) {
            return NGX_ERROR;
        }

        h = ngx_tolower(p[1]);
        l = ngx_tolower(p[2]);

        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f'))
            || !((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f')))
        {
            return NGX_ERROR;
        }

        c = (u_char) (((h >= 'a') ? h - 'a' + 10 : h - '0') << 4
                      | ((l >= 'a') ? l - 'a' + 10 : l - '0'));

        if (c == '\0') {
            return NGX_ERROR;
        }

        *d++ = c;
        p += 2;
    }

    dst->len = d - dst->data;

    return NGX_OK;
}

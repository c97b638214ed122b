
/*
 * ngx_blob_module: container operations.
 *
 * Create is mkdir(2): of any number of hosts creating one container at
 * once, exactly one gets it, the others see EEXIST and answer 409 as Azure
 * does.  Delete moves the directory into the trash in one rename(2) and
 * answers 202: the GC empties the trash later, as Azure deletes a
 * container's blobs in the background.  Everything else reads or replaces
 * the container's properties document (ngx_http_blob_container_store.c).
 *
 * An operation that checks conditions first loads the properties in one
 * thread task, decides on the event loop, then writes in a second task.
 */


#include "ngx_http_blob_module.h"

#include <libxml/parser.h>
#include <libxml/tree.h>


#define NGX_HTTP_BLOB_ACL_MAX          (64 * 1024)
#define NGX_HTTP_BLOB_ACL_IDENTIFIERS  5
#define NGX_HTTP_BLOB_ACL_ID_MAX       64


typedef struct {
    ngx_http_blob_container_props_t  props;
    ngx_array_t                     *metadata;      /* to set */
    ngx_str_t                        public_access; /* to set */
    ngx_str_t                        body;          /* Set Container ACL */
    ngx_int_t                        rc;            /* of the load */
} ngx_http_blob_container_op_t;


static ngx_http_blob_container_op_t *ngx_http_blob_container_op(
    ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_container_public_access(ngx_http_request_t *r,
    ngx_http_blob_container_op_t *op);
static void ngx_http_blob_container_stamp(
    ngx_http_blob_container_props_t *props);
static ngx_int_t ngx_http_blob_container_send(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_uint_t status,
    ngx_http_blob_container_props_t *props);
static ngx_http_blob_error_e ngx_http_blob_container_loaded(
    ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx, ngx_uint_t conditions);

static void ngx_http_blob_create_container_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_create_container_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_container_load_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_container_save_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_container_saved_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_get_container_properties_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_container_metadata_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_get_container_acl_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_container_acl_body(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_container_acl_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_container_acl_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_http_blob_error_e ngx_http_blob_container_acl_parse(
    ngx_http_request_t *r, ngx_str_t *body, ngx_str_t *acl,
    ngx_http_blob_error_detail_t *detail);
static void ngx_http_blob_delete_container_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_delete_container_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_delete_container_deleted(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);


static ngx_http_blob_container_op_t *
ngx_http_blob_container_op(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_container_op_t  *op;

    if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
        return NULL;
    }

    op = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_container_op_t));
    if (op == NULL) {
        return NULL;
    }

    ctx->op_data = op;
    ctx->error = NGX_HTTP_BLOB_OK;

    return op;
}


/*
 * x-ms-blob-public-access: "container", "blob", or absent for private;
 * anything else is answered with 400 here, and NGX_DECLINED returned.
 */

static ngx_int_t
ngx_http_blob_container_public_access(ngx_http_request_t *r,
    ngx_http_blob_container_op_t *op)
{
    ngx_str_t  v;

    if (ngx_http_blob_header_in_value(r, "x-ms-blob-public-access", &v)
        != NGX_OK)
    {
        ngx_str_null(&op->public_access);
        return NGX_OK;
    }

    if ((v.len == sizeof("container") - 1
         && ngx_strncmp(v.data, "container", v.len) == 0)
        || (v.len == sizeof("blob") - 1
            && ngx_strncmp(v.data, "blob", v.len) == 0))
    {
        op->public_access = v;
        return NGX_OK;
    }

    op->public_access = v;

    return NGX_DECLINED;
}


/*
 * A new version of the container's properties.  The ETag counts, as
 * Azure's do, 100-nanosecond ticks since 1601, from the clock of the
 * thread; it only ever grows for one container.
 */

static void
ngx_http_blob_container_stamp(ngx_http_blob_container_props_t *props)
{
    uint64_t         etag;
    struct timespec  ts;

    (void) clock_gettime(CLOCK_REALTIME, &ts);

    etag = ((uint64_t) ts.tv_sec + 11644473600ULL) * 10000000
           + ts.tv_nsec / 100;

    props->etag = (etag > props->etag) ? etag : props->etag + 1;
    props->last_modified = ts.tv_sec;
}


/* a response without a body: the container's ETag and Last-Modified */

static ngx_int_t
ngx_http_blob_container_send(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_uint_t status, ngx_http_blob_container_props_t *props)
{
    ngx_int_t  rc;
    ngx_str_t  etag;

    r->headers_out.status = status;
    r->headers_out.content_length_n = 0;

    if (props) {
        if (ngx_http_blob_etag_format(r->pool, props->etag, 1, &etag)
            != NGX_OK
            || ngx_http_blob_header_out(r, "ETag", &etag) != NGX_OK
            || ngx_http_blob_header_out_time(r, "Last-Modified",
                                             props->last_modified)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_blob_common_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_send_special(r, NGX_HTTP_LAST);
}


/*
 * After a load: whether the container exists, and the conditions, if
 * asked, hold.
 */

static ngx_http_blob_error_e
ngx_http_blob_container_loaded(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_uint_t conditions)
{
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;

    if (op->rc == NGX_DECLINED) {
        return NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND;
    }

    if (op->rc != NGX_OK) {
        return ctx->error;
    }

    if (conditions) {
        return ngx_http_blob_conditions(r, ctx, 1, op->props.etag,
                                        op->props.last_modified, 0);
    }

    return NGX_HTTP_BLOB_OK;
}


static void
ngx_http_blob_container_load_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;

    op->rc = ngx_http_blob_container_load(ctx->task_pool, ctx,
                                          &ctx->container, &op->props);

    if (op->rc == NGX_ERROR && ctx->error == NGX_HTTP_BLOB_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }
}


/* writes op->props as a new version */

static void
ngx_http_blob_container_save_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;

    ngx_http_blob_container_stamp(&op->props);

    if (ngx_http_blob_container_save(ctx->task_pool, ctx, &ctx->container,
                                     &op->props)
        != NGX_OK)
    {
        op->rc = NGX_ERROR;

        if (ctx->error == NGX_HTTP_BLOB_OK) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }
    }
}


static void
ngx_http_blob_container_saved_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;

    if (op->rc != NGX_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_container_send(r, ctx,
                                                           NGX_HTTP_OK,
                                                           &op->props));
}


/* Create Container */

ngx_int_t
ngx_http_blob_create_container(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_array_t                   *metadata;
    ngx_http_blob_error_detail_t   detail;
    ngx_http_blob_container_op_t  *op;

    op = ngx_http_blob_container_op(r, ctx);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    metadata = ngx_palloc(r->pool, sizeof(ngx_array_t));
    if (metadata == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    rc = ngx_http_blob_metadata_parse(r, metadata, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    if (ngx_http_blob_container_public_access(r, op) != NGX_OK) {
        return ngx_http_blob_error_header(r,
                                      NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE,
                                      "x-ms-blob-public-access",
                                      &op->public_access);
    }

    op->props.metadata = *metadata;
    op->props.public_access = op->public_access;

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_create_container_work,
                                  ngx_http_blob_create_container_done);
}


static void
ngx_http_blob_create_container_work(ngx_http_blob_ctx_t *ctx)
{
    int                            fd;
    ngx_err_t                      err;
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;
    op->rc = NGX_ERROR;

    if (ngx_create_dir(ctx->container_path.data, 0755) == NGX_FILE_ERROR) {
        err = ngx_errno;

        if (err == NGX_EEXIST) {
            ctx->error = NGX_HTTP_BLOB_ERR_CONTAINER_ALREADY_EXISTS;
            return;
        }

        ctx->err = err;
        ctx->failed = ngx_create_dir_n;

        /* a full or read-only account root says so (507, 403) */

        ctx->error = ngx_http_blob_errno_error(err);

        if (ctx->error == NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND
            || ctx->error == NGX_HTTP_BLOB_ERR_PATH_CONFLICT)
        {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }

        return;
    }

    /* a document left by a container of that name before is replaced */

    ngx_http_blob_container_stamp(&op->props);

    if (ngx_http_blob_container_save(ctx->task_pool, ctx, &ctx->container,
                                     &op->props)
        != NGX_OK)
    {
        /* no half-made container: it has no properties, take it back */
        (void) ngx_delete_dir(ctx->container_path.data);

        if (ctx->error == NGX_HTTP_BLOB_OK) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }

        return;
    }

    /* an acknowledged container must survive a power cut */

    if (ctx->conf->fsync) {
        fd = open((char *) ctx->account_root.data, O_RDONLY|O_DIRECTORY);

        if (fd == -1 || (fsync(fd) == -1 && ngx_errno != NGX_EINVAL)) {
            ctx->err = ngx_errno;
            ctx->failed = "fsync() of the account root";
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;

            if (fd != -1) {
                close(fd);
            }

            return;
        }

        close(fd);
    }

    op->rc = NGX_OK;
}


static void
ngx_http_blob_create_container_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;

    if (op->rc != NGX_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_container_send(r, ctx,
                                                           NGX_HTTP_CREATED,
                                                           &op->props));
}


/* Get Container Properties, and Get Container Metadata (comp=metadata) */

ngx_int_t
ngx_http_blob_get_container_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    if (ngx_http_blob_container_op(r, ctx) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_container_load_work,
                                  ngx_http_blob_get_container_properties_done);
}


static void
ngx_http_blob_get_container_properties_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_error_e             error;
    ngx_http_blob_container_props_t  *props;

    error = ngx_http_blob_container_loaded(r, ctx, 0);
    if (error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, error, NULL));
        return;
    }

    props = &((ngx_http_blob_container_op_t *) ctx->op_data)->props;

    if (ngx_http_blob_metadata_headers(r, &props->metadata) != NGX_OK) {
        ngx_http_blob_finalize(r, NGX_ERROR);
        return;
    }

    if (ctx->op->comp.len == 0) {
        /* the full set; Get Container Metadata has only the metadata */

        if (ngx_http_blob_header_out_cstr(r, "x-ms-lease-status", "unlocked")
            != NGX_OK
            || ngx_http_blob_header_out_cstr(r, "x-ms-lease-state",
                                             "available")
               != NGX_OK
            || ngx_http_blob_header_out_cstr(r,
                                             "x-ms-has-immutability-policy",
                                             "false")
               != NGX_OK
            || ngx_http_blob_header_out_cstr(r, "x-ms-has-legal-hold",
                                             "false")
               != NGX_OK
            || ngx_http_blob_header_out_cstr(r,
                                             "x-ms-default-encryption-scope",
                                             "$account-encryption-key")
               != NGX_OK
            || ngx_http_blob_header_out_cstr(r,
                                     "x-ms-deny-encryption-scope-override",
                                     "false")
               != NGX_OK
            || ngx_http_blob_header_out_cstr(r,
                        "x-ms-immutable-storage-with-versioning-enabled",
                        "false")
               != NGX_OK)
        {
            ngx_http_blob_finalize(r, NGX_ERROR);
            return;
        }

        if (props->public_access.len
            && ngx_http_blob_header_out(r, "x-ms-blob-public-access",
                                        &props->public_access)
               != NGX_OK)
        {
            ngx_http_blob_finalize(r, NGX_ERROR);
            return;
        }
    }

    ngx_http_blob_finalize(r, ngx_http_blob_container_send(r, ctx,
                                                           NGX_HTTP_OK,
                                                           props));
}


/* Set Container Metadata: the new set replaces the old one whole */

ngx_int_t
ngx_http_blob_set_container_metadata(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_http_blob_error_detail_t   detail;
    ngx_http_blob_container_op_t  *op;

    op = ngx_http_blob_container_op(r, ctx);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    op->metadata = ngx_palloc(r->pool, sizeof(ngx_array_t));
    if (op->metadata == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    rc = ngx_http_blob_metadata_parse(r, op->metadata, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_container_load_work,
                                  ngx_http_blob_set_container_metadata_done);
}


static void
ngx_http_blob_set_container_metadata_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_error_e          error;
    ngx_http_blob_container_op_t  *op;

    error = ngx_http_blob_container_loaded(r, ctx, 1);
    if (error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, error, NULL));
        return;
    }

    op = ctx->op_data;
    op->props.metadata = *op->metadata;

    ngx_http_blob_finalize(r, ngx_http_blob_task_run(r, ctx,
                                        ngx_http_blob_container_save_work,
                                        ngx_http_blob_container_saved_done));
}


/* Get Container ACL: the stored access policies and the public access */

ngx_int_t
ngx_http_blob_get_container_acl(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    if (ngx_http_blob_container_op(r, ctx) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_container_load_work,
                                  ngx_http_blob_get_container_acl_done);
}


static void
ngx_http_blob_get_container_acl_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_error_e             error;
    ngx_str_t                         etag;
    ngx_http_blob_xml_t               x;
    ngx_http_blob_container_props_t  *props;

    error = ngx_http_blob_container_loaded(r, ctx, 0);
    if (error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, error, NULL));
        return;
    }

    props = &((ngx_http_blob_container_op_t *) ctx->op_data)->props;

    if (ngx_http_blob_etag_format(r->pool, props->etag, 1, &etag) != NGX_OK
        || ngx_http_blob_header_out(r, "ETag", &etag) != NGX_OK
        || ngx_http_blob_header_out_time(r, "Last-Modified",
                                         props->last_modified)
           != NGX_OK
        || (props->public_access.len
            && ngx_http_blob_header_out(r, "x-ms-blob-public-access",
                                        &props->public_access)
               != NGX_OK)
        || ngx_http_blob_xml_init(&x, r->pool) != NGX_OK)
    {
        ngx_http_blob_finalize(r, NGX_ERROR);
        return;
    }

    /* stored as written by ngx_http_blob_container_acl_parse() */

    if (props->acl.len) {
        ngx_http_blob_xml_raw(&x, props->acl.data, props->acl.len);

    } else {
        ngx_http_blob_xml_cstr(&x, "<SignedIdentifiers />");
    }

    ngx_http_blob_finalize(r, ngx_http_blob_xml_send(r, ctx, NGX_HTTP_OK,
                                                     &x));
}


/*
 * Set Container ACL: the body (possibly empty) replaces the access
 * policies, the header the public access: without it, private.
 */

ngx_int_t
ngx_http_blob_set_container_acl(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_container_op_t  *op;

    op = ngx_http_blob_container_op(r, ctx);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_blob_container_public_access(r, op) != NGX_OK) {
        return ngx_http_blob_error_header(r,
                                      NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE,
                                      "x-ms-blob-public-access",
                                      &op->public_access);
    }

    if (r->headers_in.content_length_n > NGX_HTTP_BLOB_ACL_MAX) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE,
                                   NULL);
    }

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return ngx_http_blob_task_run(r, ctx,
                                      ngx_http_blob_set_container_acl_work,
                                      ngx_http_blob_set_container_acl_done);
    }

    return ngx_http_blob_body_read(r, ctx,
                                   ngx_http_blob_set_container_acl_body);
}


static void
ngx_http_blob_set_container_acl_body(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    if (ctx->body_received > NGX_HTTP_BLOB_ACL_MAX) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                      NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE,
                                      NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_task_run(r, ctx,
                                      ngx_http_blob_set_container_acl_work,
                                      ngx_http_blob_set_container_acl_done));
}


/* reads the staged body, if any, and the properties */

static void
ngx_http_blob_set_container_acl_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;

    if (ctx->temp_path.len) {
        rc = ngx_http_blob_store_read_file(ctx->task_pool, ctx,
                                           ctx->temp_path.data, &op->body,
                                           NGX_HTTP_BLOB_ACL_MAX);

        (void) ngx_delete_file(ctx->temp_path.data);
        ctx->committed = 1;

        if (rc != NGX_OK) {
            op->rc = NGX_ERROR;
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return;
        }
    }

    ngx_http_blob_container_load_work(ctx);
}


static void
ngx_http_blob_set_container_acl_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_str_t                      acl;
    ngx_http_blob_error_e          error;
    ngx_http_blob_error_detail_t   detail;
    ngx_http_blob_container_op_t  *op;

    error = ngx_http_blob_container_loaded(r, ctx, 1);
    if (error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, error, NULL));
        return;
    }

    op = ctx->op_data;

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));
    ngx_str_null(&acl);

    if (op->body.len) {
        error = ngx_http_blob_container_acl_parse(r, &op->body, &acl,
                                                  &detail);
        if (error != NGX_HTTP_BLOB_OK) {
            ngx_http_blob_finalize(r, ngx_http_blob_error(r, error, &detail));
            return;
        }
    }

    op->props.acl = acl;
    op->props.public_access = op->public_access;

    ngx_http_blob_finalize(r, ngx_http_blob_task_run(r, ctx,
                                        ngx_http_blob_container_save_work,
                                        ngx_http_blob_container_saved_done));
}


/*
 * Checks a SignedIdentifiers document and writes it back in a canonical
 * form, with only the elements Azure knows: what Get Container ACL and a
 * SAS with "si" later read is never the client's raw text.  Runs on the
 * event loop: a few kilobytes of CPU work, no I/O (XML_PARSE_NONET).
 */

static ngx_http_blob_error_e
ngx_http_blob_container_acl_parse(ngx_http_request_t *r, ngx_str_t *body,
    ngx_str_t *acl, ngx_http_blob_error_detail_t *detail)
{
    u_char                *p;
    size_t                 len;
    xmlDocPtr              doc;
    xmlNodePtr             root, si, node, ap;
    ngx_str_t              text;
    ngx_uint_t             n;
    ngx_http_blob_xml_t    x;
    ngx_chain_t           *cl;
    ngx_http_blob_error_e  error;

    static char  *policy[] = { "Start", "Expiry", "Permission", NULL };
    char         **name;

    /* no DTD: nothing to expand, nothing to fetch */

    if (ngx_strnstr(body->data, "<!DOCTYPE", body->len)
        || ngx_strnstr(body->data, "<!ENTITY", body->len))
    {
        return NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT;
    }

    doc = xmlReadMemory((char *) body->data, body->len, NULL, NULL,
                        XML_PARSE_NONET|XML_PARSE_NOBLANKS
                        |XML_PARSE_NOERROR|XML_PARSE_NOWARNING);
    if (doc == NULL) {
        return NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT;
    }

    error = NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT;

    /*
     * the search above reads bytes, not characters: a UTF-16 document
     * hides its DOCTYPE from it, libxml2 does not
     */

    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        goto failed;
    }

    root = xmlDocGetRootElement(doc);

    if (root == NULL
        || xmlStrcmp(root->name, (const xmlChar *) "SignedIdentifiers") != 0)
    {
        goto failed;
    }

    if (ngx_http_blob_xml_init(&x, r->pool) != NGX_OK) {
        error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        goto failed;
    }

    /* the canonical form is stored without the declaration */

    x.first = NULL;
    x.last = &x.first;
    x.buf = NULL;
    x.total = 0;

    ngx_http_blob_xml_open(&x, "SignedIdentifiers");

    n = 0;

    for (si = root->children; si; si = si->next) {

        if (si->type != XML_ELEMENT_NODE) {
            continue;
        }

        if (xmlStrcmp(si->name, (const xmlChar *) "SignedIdentifier") != 0
            || ++n > NGX_HTTP_BLOB_ACL_IDENTIFIERS)
        {
            goto failed;
        }

        ngx_http_blob_xml_open(&x, "SignedIdentifier");

        ap = NULL;
        ngx_str_null(&text);

        for (node = si->children; node; node = node->next) {

            if (node->type != XML_ELEMENT_NODE) {
                continue;
            }

            if (xmlStrcmp(node->name, (const xmlChar *) "Id") == 0) {
                p = (u_char *) xmlNodeGetContent(node);
                if (p == NULL) {
                    goto failed;
                }

                len = ngx_strlen(p);

                text.data = ngx_pnalloc(r->pool, len);
                if (text.data == NULL) {
                    xmlFree(p);
                    error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
                    goto failed;
                }

                ngx_memcpy(text.data, p, len);
                text.len = len;
                xmlFree(p);

            } else if (xmlStrcmp(node->name, (const xmlChar *) "AccessPolicy")
                       == 0)
            {
                ap = node;

            } else {
                goto failed;
            }
        }

        if (text.len == 0 || text.len > NGX_HTTP_BLOB_ACL_ID_MAX) {
            ngx_str_set(&detail->reason, "SignedIdentifier Id");
            error = NGX_HTTP_BLOB_ERR_INVALID_XML_NODE_VALUE;
            goto failed;
        }

        ngx_http_blob_xml_element(&x, "Id", &text);

        if (ap) {
            ngx_http_blob_xml_open(&x, "AccessPolicy");

            for (name = policy; *name; name++) {
                for (node = ap->children; node; node = node->next) {
                    if (node->type == XML_ELEMENT_NODE
                        && xmlStrcmp(node->name, (const xmlChar *) *name)
                           == 0)
                    {
                        break;
                    }
                }

                if (node == NULL) {
                    continue;
                }

                p = (u_char *) xmlNodeGetContent(node);
                if (p == NULL) {
                    goto failed;
                }

                text.data = p;
                text.len = ngx_strlen(p);

                /* the writer copies the text: the parser's copy can go */

                ngx_http_blob_xml_element(&x, *name, &text);
                xmlFree(p);
            }

            ngx_http_blob_xml_close(&x, "AccessPolicy");
        }

        ngx_http_blob_xml_close(&x, "SignedIdentifier");
    }

    ngx_http_blob_xml_close(&x, "SignedIdentifiers");

    xmlFreeDoc(doc);

    if (x.failed) {
        return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    acl->data = ngx_pnalloc(r->pool, x.total);
    if (acl->data == NULL) {
        return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    p = acl->data;

    for (cl = x.first; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    acl->len = p - acl->data;

    return NGX_HTTP_BLOB_OK;

failed:

    xmlFreeDoc(doc);

    return error;
}


/* Delete Container */

ngx_int_t
ngx_http_blob_delete_container(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    if (ngx_http_blob_container_op(r, ctx) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_container_load_work,
                                  ngx_http_blob_delete_container_done);
}


static void
ngx_http_blob_delete_container_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_error_e  error;

    error = ngx_http_blob_container_loaded(r, ctx, 1);
    if (error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, error, NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_task_run(r, ctx,
                                  ngx_http_blob_delete_container_work,
                                  ngx_http_blob_delete_container_deleted));
}


/*
 * The properties go first: while the directory is still there, no other
 * host can create the container anew, so the document removed is never a
 * new container's.  The blobs' state goes last, with the directory gone.
 */

static void
ngx_http_blob_delete_container_work(ngx_http_blob_ctx_t *ctx)
{
    u_char                        *path;
    ngx_int_t                      rc;
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;
    op->rc = NGX_ERROR;

    path = ngx_pnalloc(ctx->task_pool, ctx->account_root.len
                                       + sizeof("/" NGX_HTTP_BLOB_STATE_DIR
                                                "/containers/.json")
                                       + ctx->container.len);
    if (path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/containers/%V.json%Z",
                &ctx->account_root, &ctx->container);

    if (ngx_http_blob_store_trash(ctx, path) == NGX_ERROR) {
        return;
    }

    rc = ngx_http_blob_store_trash(ctx, ctx->container_path.data);

    if (rc == NGX_DECLINED) {
        /* another request deleted it meanwhile */
        ctx->error = NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND;
        ctx->err = 0;
        return;
    }

    if (rc != NGX_OK) {
        return;
    }

    op->rc = NGX_OK;

    ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/state/%V%Z",
                &ctx->account_root, &ctx->container);

    if (ngx_http_blob_store_trash(ctx, path) == NGX_ERROR) {
        /* the container is gone: its state is the collector's business */
        ctx->failed = NULL;
        ctx->error = NGX_HTTP_BLOB_OK;
    }

    ctx->err = 0;
}


static void
ngx_http_blob_delete_container_deleted(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_container_op_t  *op;

    op = ctx->op_data;

    if (op->rc != NGX_OK) {
        if (ctx->error == NGX_HTTP_BLOB_OK) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }

        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_container_send(r, ctx,
                                                           NGX_HTTP_ACCEPTED,
                                                           NULL));
}

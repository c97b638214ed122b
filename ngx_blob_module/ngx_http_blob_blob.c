
/*
 * ngx_blob_module: blob operations (Put Blob, Get Blob, Get Blob
 * Properties, Set Blob Properties, Get/Set Blob Metadata, Delete Blob).
 *
 * Put Blob follows the DAV module's shape: the body lands in a staging file
 * on the same filesystem, then one rename(2) makes it the blob.  Get Blob
 * follows the static module's: open and fstat in a thread, then a file
 * buffer for the output chain (sendfile, aio threads).
 */


#include "ngx_http_blob_module.h"


/*
 * A small read is done in the task that opens the file: one thread round
 * trip per Get Blob instead of two (open, then sendfile in threads).
 */
#define NGX_HTTP_BLOB_INLINE_MAX  65536


typedef struct {
    ngx_http_blob_range_t   range;
    ngx_http_blob_props_t   props;
    u_char                 *inline_data;    /* [start, end) read already */
    u_char                  range_md5[16];
    off_t                   start;
    off_t                   end;            /* exclusive */
    unsigned                ranged:1;
    unsigned                range_md5_wanted:1;
    unsigned                unsatisfiable:1;
} ngx_http_blob_get_t;


typedef struct {
    ngx_http_blob_props_t   props;          /* as requested */
    u_char                  md5[16];        /* Content-MD5 sent */
    u_char                  crc64[8];       /* x-ms-content-crc64 sent */
    unsigned                has_md5:1;
    unsigned                has_crc64:1;
    unsigned                create_only:1;  /* If-None-Match: * */
} ngx_http_blob_put_t;


typedef struct {
    ngx_http_blob_props_t   props;          /* the new settings */
    ngx_http_blob_props_t   result;
    unsigned                metadata:1;     /* Set Blob Metadata */
} ngx_http_blob_set_t;


static void ngx_http_blob_put_commit_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_put_commit_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_read_content_headers(ngx_http_request_t *r,
    ngx_http_blob_props_t *props, ngx_http_blob_error_detail_t *detail);
static ngx_int_t ngx_http_blob_decode_header(ngx_http_request_t *r,
    char *name, u_char *out, size_t len, ngx_uint_t *present);
static ngx_int_t ngx_http_blob_read_start(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_read_cached(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_read_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_read_range(ngx_http_blob_get_t *get, off_t size);
static ngx_uint_t ngx_http_blob_read_inline_wanted(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_get_t *get);
static ngx_int_t ngx_http_blob_read_inline(ngx_pool_t *pool, ngx_fd_t fd,
    ngx_http_blob_get_t *get, int flags);
static ngx_int_t ngx_http_blob_read_answer(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_read_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_send_file(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_get_t *get);
static ngx_int_t ngx_http_blob_set_start(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_uint_t metadata);
static void ngx_http_blob_set_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_set_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_delete_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_delete_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_type_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_type_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_base64_header(ngx_http_request_t *r,
    char *name, u_char *data, size_t len);
static uint64_t ngx_http_blob_now_ns(void);


/* Put Blob */

ngx_int_t
ngx_http_blob_put_blob(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_str_t                      type, v;
    ngx_uint_t                     present;
    ngx_http_blob_put_t           *put;
    ngx_http_blob_error_detail_t   detail;

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    /* a blob is never created silently as another type */

    if (ngx_http_blob_header_in_value(r, "x-ms-blob-type", &type)
        != NGX_OK)
    {
        return ngx_http_blob_error_header(r,
                                     NGX_HTTP_BLOB_ERR_MISSING_REQUIRED_HEADER,
                                     "x-ms-blob-type", NULL);
    }

    if (type.len != sizeof("BlockBlob") - 1
        || ngx_strncmp(type.data, "BlockBlob", type.len) != 0)
    {
        return ngx_http_blob_error_header(r,
                                        NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE,
                                        "x-ms-blob-type", &type);
    }

    if (r->headers_in.content_length_n < 0) {
        return ngx_http_blob_error(r,
                                  NGX_HTTP_BLOB_ERR_MISSING_CONTENT_LENGTH,
                                  NULL);
    }

    if (r->headers_in.content_length_n > ctx->conf->max_put_blob) {
        return ngx_http_blob_error(r,
                                  NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE,
                                  NULL);
    }

    put = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_put_t));
    if (put == NULL) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    ctx->op_data = put;

    rc = ngx_http_blob_read_content_headers(r, &put->props, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    rc = ngx_http_blob_decode_header(r, "content-md5", put->md5, 16,
                                     &present);
    if (rc != NGX_OK) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INVALID_MD5, NULL);
    }

    put->has_md5 = present;

    rc = ngx_http_blob_decode_header(r, "x-ms-content-crc64", put->crc64, 8,
                                     &present);
    if (rc != NGX_OK) {
        (void) ngx_http_blob_header_in_value(r, "x-ms-content-crc64", &v);
        return ngx_http_blob_error_header(r,
                                        NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE,
                                        "x-ms-content-crc64", &v);
    }

    put->has_crc64 = present;

    if (ngx_http_blob_header_in_value(r, "if-none-match", &v) == NGX_OK
        && v.len == 1 && v.data[0] == '*')
    {
        put->create_only = 1;
    }

    /* Put Blob always stores the MD5; CRC-64 only to check the client's */
    ctx->body_skip_crc64 = put->has_crc64 ? 0 : 1;

    /* the commit runs in the thread task that writes the last byte */
    ctx->body_finish = ngx_http_blob_put_commit_work;

    return ngx_http_blob_body_read(r, ctx, ngx_http_blob_put_commit_done);
}


static void
ngx_http_blob_put_commit_work(ngx_http_blob_ctx_t *ctx)
{
    u_char                  md5[16], crc[8];
    uint64_t                ns, crc64;
    ngx_uint_t              i, exists;
    ngx_file_info_t         fi, cur;
    ngx_http_blob_put_t    *put;
    ngx_http_blob_props_t  *props;
    struct timespec         times[2];

    put = ctx->op_data;
    props = &put->props;

    ngx_md5_final(md5, &ctx->body_md5);

    crc64 = ctx->body_crc64;

    for (i = 0; i < 8; i++) {
        crc[i] = (u_char) (crc64 >> (8 * i));
    }

    if (put->has_md5 && ngx_memcmp(md5, put->md5, 16) != 0) {
        ctx->error = NGX_HTTP_BLOB_ERR_MD5_MISMATCH;
        goto discard;
    }

    if (put->has_crc64 && ngx_memcmp(crc, put->crc64, 8) != 0) {
        ctx->error = NGX_HTTP_BLOB_ERR_CRC64_MISMATCH;
        goto discard;
    }

    /* Put Blob stores the MD5 of what it received, unless told another */

    if (!props->has_md5) {
        ngx_memcpy(props->content_md5, md5, 16);
        props->has_md5 = 1;
    }

    ngx_memcpy(put->md5, md5, 16);
    ngx_memcpy(put->crc64, crc, 8);

    /*
     * the version's identity: its own inode and the commit's clock in
     * nanoseconds, set before the properties are written under it
     */

    ns = ngx_http_blob_now_ns();
    times[0].tv_sec = ns / 1000000000;
    times[0].tv_nsec = ns % 1000000000;
    times[1] = times[0];

    if (utimensat(AT_FDCWD, (char *) ctx->temp_path.data, times, 0) == -1
        || stat((char *) ctx->temp_path.data, &fi) == -1)
    {
        ctx->err = ngx_errno;
        ctx->failed = "stamping a staging file";
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        goto discard;
    }

    ngx_http_blob_store_props_from_file(props, &fi);
    props->creation_time = fi.st_mtim.tv_sec;

    /* conditions, against the blob as it is now */

    exists = (ngx_http_blob_store_stat(ctx, &cur) == NGX_OK);

    if (!exists && ctx->error == NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND) {
        goto discard;
    }

    ctx->error = ngx_http_blob_conditions(ctx->request, ctx, exists,
                                          exists
                                          ? ngx_http_blob_store_etag(&cur)
                                          : 0,
                                          exists ? cur.st_mtim.tv_sec : 0, 0);
    if (ctx->error != NGX_HTTP_BLOB_OK) {
        goto discard;
    }

    if (ngx_http_blob_store_save_props(ctx->task_pool, ctx, &ctx->state_path,
                                       props)
        != NGX_OK)
    {
        goto discard;
    }

    if (put->create_only) {
        if (ngx_http_blob_store_publish_new(ctx, ctx->temp_path.data,
                                            ctx->blob_path.data,
                                            ctx->container_path.len)
            != NGX_OK)
        {
            goto discard;
        }

    } else if (ngx_http_blob_store_publish(ctx, ctx->temp_path.data,
                                           ctx->blob_path.data,
                                           ctx->container_path.len)
               != NGX_OK)
    {
        goto discard;
    }

    ctx->committed = 1;
    ctx->error = NGX_HTTP_BLOB_OK;

    /* Azure discards the uncommitted blocks of a blob that Put Blob wrote */
    ngx_http_blob_store_prune(ctx, &ctx->state_path, props->etag, 1);

    return;

discard:

    (void) unlink((char *) ctx->temp_path.data);
    ctx->committed = 1;

    /*
     * a missing container shows as a failed rename or mkdir (and one
     * that is a link, which no step follows, is none)
     */

    if (ctx->error != NGX_HTTP_BLOB_OK
        && ctx->error != NGX_HTTP_BLOB_ERR_PATH_CONFLICT
        && (ngx_link_info(ctx->container_path.data, &fi) == NGX_FILE_ERROR
            || !S_ISDIR(fi.st_mode)))
    {
        ctx->error = NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND;
        ctx->failed = NULL;
    }
}


static void
ngx_http_blob_put_commit_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_str_t             etag;
    ngx_http_blob_put_t  *put;

    put = ctx->op_data;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    r->headers_out.status = NGX_HTTP_CREATED;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    if (ngx_http_blob_etag_format(r->pool, put->props.etag, 1, &etag)
           != NGX_OK
        || ngx_http_blob_header_out(r, "ETag", &etag) != NGX_OK
        || ngx_http_blob_header_out_time(r, "Last-Modified",
                                         put->props.mtime) != NGX_OK
        || ngx_http_blob_base64_header(r, "Content-MD5", put->md5, 16)
           != NGX_OK
        || ngx_http_blob_header_out_cstr(r, "x-ms-request-server-encrypted",
                                         "true") != NGX_OK
        || ngx_http_blob_common_headers(r, ctx) != NGX_OK)
    {
        ngx_http_blob_finalize(r, NGX_ERROR);
        return;
    }

    if (put->has_crc64
        && ngx_http_blob_base64_header(r, "x-ms-content-crc64", put->crc64, 8)
           != NGX_OK)
    {
        ngx_http_blob_finalize(r, NGX_ERROR);
        return;
    }

    rc = ngx_http_send_header(r);

    ngx_http_blob_finalize(r, rc);
}


/*
 * x-ms-blob-content-* and x-ms-blob-cache-control set a blob's content
 * properties on Put Blob, Put Block List and Set Blob Properties.
 */

static ngx_int_t
ngx_http_blob_read_content_headers(ngx_http_request_t *r,
    ngx_http_blob_props_t *props, ngx_http_blob_error_detail_t *detail)
{
    ngx_int_t   rc;
    ngx_uint_t  present;

    (void) ngx_http_blob_header_in_value(r, "x-ms-blob-content-type",
                                         &props->content_type);
    (void) ngx_http_blob_header_in_value(r, "x-ms-blob-content-encoding",
                                         &props->content_encoding);
    (void) ngx_http_blob_header_in_value(r, "x-ms-blob-content-language",
                                         &props->content_language);
    (void) ngx_http_blob_header_in_value(r, "x-ms-blob-content-disposition",
                                         &props->content_disposition);
    (void) ngx_http_blob_header_in_value(r, "x-ms-blob-cache-control",
                                         &props->cache_control);

    /* Put Blob also takes the standard headers for these */

    if (props->content_type.len == 0 && r->headers_in.content_type) {
        props->content_type = r->headers_in.content_type->value;
    }

    if (props->content_encoding.len == 0) {
        (void) ngx_http_blob_header_in_value(r, "content-encoding",
                                             &props->content_encoding);
    }

    if (props->content_language.len == 0) {
        (void) ngx_http_blob_header_in_value(r, "content-language",
                                             &props->content_language);
    }

    if (props->cache_control.len == 0) {
        (void) ngx_http_blob_header_in_value(r, "cache-control",
                                             &props->cache_control);
    }

    if (props->content_disposition.len == 0) {
        (void) ngx_http_blob_header_in_value(r, "content-disposition",
                                             &props->content_disposition);
    }

    rc = ngx_http_blob_decode_header(r, "x-ms-blob-content-md5",
                                     props->content_md5, 16, &present);
    if (rc != NGX_OK) {
        ngx_str_set(&detail->header_name, "x-ms-blob-content-md5");
        return NGX_HTTP_BLOB_ERR_INVALID_MD5;
    }

    props->has_md5 = present;

    rc = ngx_http_blob_content_headers_check(props, detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return rc;
    }

    return ngx_http_blob_metadata_parse(r, &props->metadata, detail);
}


/* a base64 header of a fixed decoded length, absent when empty */

static ngx_int_t
ngx_http_blob_decode_header(ngx_http_request_t *r, char *name, u_char *out,
    size_t len, ngx_uint_t *present)
{
    u_char     buf[64];
    ngx_str_t  v, d;

    *present = 0;

    if (ngx_http_blob_header_in_value(r, name, &v) != NGX_OK) {
        return NGX_OK;
    }

    if (v.len != ngx_base64_encoded_length(len)) {
        return NGX_ERROR;
    }

    d.data = buf;

    if (ngx_decode_base64(&d, &v) != NGX_OK || d.len != len) {
        return NGX_ERROR;
    }

    ngx_memcpy(out, buf, len);
    *present = 1;

    return NGX_OK;
}


/* Get Blob, Get Blob Properties (HEAD), Get Blob Metadata */

ngx_int_t
ngx_http_blob_get_blob(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    return ngx_http_blob_read_start(r, ctx);
}


ngx_int_t
ngx_http_blob_get_blob_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    return ngx_http_blob_read_start(r, ctx);
}


ngx_int_t
ngx_http_blob_get_blob_metadata(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    return ngx_http_blob_read_start(r, ctx);
}


static ngx_int_t
ngx_http_blob_read_start(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_str_t                   v, md5;
    ngx_http_blob_get_t        *get;
    ngx_http_blob_main_conf_t  *bmcf;

    get = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_get_t));
    if (get == NULL) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    ctx->op_data = get;

    if (ctx->op->handler == ngx_http_blob_get_blob) {

        /* x-ms-range wins over Range; only a malformed x-ms-range is 400 */

        if (ngx_http_blob_header_in_value(r, "x-ms-range", &v) == NGX_OK) {
            rc = ngx_http_blob_range_parse(&v, &get->range);

            /* x-ms-range is Azure's own: one range, from a start, or 400 */

            if (rc != NGX_OK || get->range.suffix) {
                return ngx_http_blob_error_header(r,
                                        NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE,
                                        "x-ms-range", &v);
            }

        } else if (r->headers_in.range) {
            rc = ngx_http_blob_range_parse(&r->headers_in.range->value,
                                           &get->range);
            if (rc != NGX_OK) {
                ngx_memzero(&get->range, sizeof(ngx_http_blob_range_t));
            }
        }

        if (ngx_http_blob_header_in_value(r, "x-ms-range-get-content-md5",
                                          &md5)
            == NGX_OK
            && md5.len == 4 && ngx_strncasecmp(md5.data, (u_char *) "true", 4)
                               == 0)
        {
            if (!get->range.present) {
                return ngx_http_blob_error_header(r,
                                       NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE,
                                       "x-ms-range-get-content-md5", &md5);
            }

            /* end - start + 1 overflows for bytes=0-9223372036854775807 */

            if (get->range.suffix || get->range.open_end
                || get->range.end - get->range.start
                   >= NGX_HTTP_BLOB_RANGE_MD5_MAX)
            {
                return ngx_http_blob_error(r,
                                          NGX_HTTP_BLOB_ERR_OUT_OF_RANGE_INPUT,
                                          NULL);
            }

            get->range_md5_wanted = 1;
        }

        if (get->range.present
            && ngx_http_blob_header_in(r, "if-range") != NULL)
        {
            get->range.if_range = 1;
        }
    }

    bmcf = ngx_http_get_module_main_conf(r, ngx_http_blob_module);

    if (ngx_http_blob_props_cache_get(bmcf->props_cache, r->pool,
                                      &ctx->blob_path, &ctx->props_cached)
        == NGX_ERROR)
    {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    if (ctx->props_cached && ctx->conf->cached_reads
        && !get->range_md5_wanted)
    {
        rc = ngx_http_blob_read_cached(r, ctx);

        if (rc == NGX_OK) {
            return ngx_http_blob_read_answer(r, ctx);
        }

        if (rc == NGX_ERROR) {
            return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR,
                                       NULL);
        }
    }

    /* a range's MD5 reads up to 4 MiB: not a task to queue others behind */

    if (get->range_md5_wanted) {
        return ngx_http_blob_task_run(r, ctx, ngx_http_blob_read_work,
                                      ngx_http_blob_read_done);
    }

    return ngx_http_blob_task_run_short(r, ctx, ngx_http_blob_read_work,
                                        ngx_http_blob_read_done);
}


/*
 * A read whose answer is in memory: the path in the kernel's lookup
 * cache, the properties in this worker's cache for the file's ETag.  It
 * is answered on the event loop, without the two wake-ups of a thread-pool
 * round trip, which are most of what a HEAD costs.  A small blob's bytes
 * are read here too if the page cache has them all (RWF_NOWAIT); if not,
 * they go by sendfile, in nginx's aio thread as a large blob's do.  If the
 * open or the properties would need I/O, NGX_DECLINED: the thread pool
 * does the read from the start.
 */

static ngx_int_t
ngx_http_blob_read_cached(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_fd_t              fd;
    ngx_uint_t            noatime;
    ngx_file_info_t       fi;
    ngx_http_blob_get_t  *get;

    get = ctx->op_data;

    noatime = (ctx->op->handler == ngx_http_blob_get_blob);

    fd = ngx_http_blob_store_open_cached(ctx, &fi, &noatime);
    if (fd == NGX_INVALID_FILE) {
        return NGX_DECLINED;
    }

    if (ctx->props_cached->etag != ngx_http_blob_store_etag(&fi)) {
        /*
         * A changed file: the task closes this descriptor, as a close
         * may write (ext4 allocates the delayed blocks of a file that
         * was truncated and written again when it is released).
         */
        ctx->fd = fd;
        return NGX_DECLINED;
    }

    ctx->fd = fd;
    ctx->fi = fi;

    /* the cache holds this version: nothing is read from the disk */

    if (ngx_http_blob_store_load_props(r->pool, ctx, &ctx->state_path,
                                       &ctx->fi, &get->props)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_blob_read_range(get, fi.st_size);

    if (!get->unsatisfiable && noatime
        && ngx_http_blob_read_inline_wanted(ctx, get)
        && ngx_http_blob_read_inline(r->pool, fd, get, RWF_NOWAIT) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_blob_read_work(ngx_http_blob_ctx_t *ctx)
{
    u_char                buf[65536];
    off_t                 pos;
    size_t                len;
    ssize_t               n;
    ngx_md5_t             md5;
    ngx_http_blob_get_t  *get;

    get = ctx->op_data;

    /* one the event loop opened and gave up on (ngx_http_blob_read_cached) */

    if (ctx->fd != NGX_INVALID_FILE) {
        (void) close(ctx->fd);
    }

    ctx->fd = ngx_http_blob_store_open(ctx, O_RDONLY);
    if (ctx->fd == NGX_INVALID_FILE) {
        return;
    }

    if (fstat(ctx->fd, &ctx->fi) == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "fstat()";
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    /* a virtual directory is not a blob */

    if (!S_ISREG(ctx->fi.st_mode)) {
        ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;
        return;
    }

    if (ngx_http_blob_store_load_props(ctx->task_pool, ctx, &ctx->state_path,
                                       &ctx->fi, &get->props)
        != NGX_OK)
    {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    ngx_http_blob_read_range(get, ctx->fi.st_size);

    if (get->unsatisfiable) {
        return;
    }

    if (ngx_http_blob_read_inline_wanted(ctx, get)
        && ngx_http_blob_read_inline(ctx->task_pool, ctx->fd, get, 0)
           != NGX_OK)
    {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return;
    }

    if (!get->range_md5_wanted) {
        return;
    }

    if (get->inline_data) {
        ngx_md5_init(&md5);
        ngx_md5_update(&md5, get->inline_data, get->end - get->start);
        ngx_md5_final(get->range_md5, &md5);
        return;
    }

    ngx_md5_init(&md5);

    for (pos = get->start; pos < get->end; pos += n) {
        len = ngx_min((off_t) sizeof(buf), get->end - pos);

        n = pread(ctx->fd, buf, len, pos);
        if (n <= 0) {
            ctx->err = ngx_errno;
            ctx->failed = "pread()";
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return;
        }

        ngx_md5_update(&md5, buf, n);
    }

    ngx_md5_final(get->range_md5, &md5);
}


/* the bytes a Get Blob sends, from its Range and the blob's size */

static void
ngx_http_blob_read_range(ngx_http_blob_get_t *get, off_t size)
{
    get->unsatisfiable = 0;

    if (!get->range.present) {
        get->ranged = 0;
        get->start = 0;
        get->end = size;
        return;
    }

    get->ranged = 1;

    if (get->range.suffix) {
        get->start = (get->range.end < size) ? size - get->range.end : 0;
        get->end = size;

        if (get->range.end == 0 || size == 0) {
            get->unsatisfiable = 1;
        }

        return;
    }

    get->start = get->range.start;
    get->end = (get->range.open_end || get->range.end >= size)
               ? size : get->range.end + 1;

    /* any range of an empty blob, or one starting past its end */

    if (get->start >= size) {
        get->unsatisfiable = 1;
    }
}


/* a small Get Blob is read into memory (If-Range may still widen it) */

static ngx_uint_t
ngx_http_blob_read_inline_wanted(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_get_t *get)
{
    return ctx->op->handler == ngx_http_blob_get_blob
           && get->end - get->start <= NGX_HTTP_BLOB_INLINE_MAX
           && (!get->ranged || get->range.if_range == 0);
}


/*
 * flags is RWF_NOWAIT on the event loop: a page not in the page cache
 * ends the read there (tmpfs has no RWF_NOWAIT at all).  A short read
 * leaves get->inline_data NULL, and the bytes to sendfile.
 */

static ngx_int_t
ngx_http_blob_read_inline(ngx_pool_t *pool, ngx_fd_t fd,
    ngx_http_blob_get_t *get, int flags)
{
    off_t         pos;
    ssize_t       n;
    struct iovec  iov;

    get->inline_data = ngx_pnalloc(pool, get->end - get->start + 1);
    if (get->inline_data == NULL) {
        return NGX_ERROR;
    }

    for (pos = get->start; pos < get->end; pos += n) {
        iov.iov_base = get->inline_data + (pos - get->start);
        iov.iov_len = get->end - pos;

        n = preadv2(fd, &iov, 1, pos, flags);

        if (n <= 0) {
            ngx_pfree(pool, get->inline_data);
            get->inline_data = NULL;
            break;
        }
    }

    return NGX_OK;
}


static void
ngx_http_blob_read_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_finalize(r, ngx_http_blob_read_answer(r, ctx));
}


static ngx_int_t
ngx_http_blob_read_answer(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_str_t                   v, etag;
    ngx_uint_t                  if_range_ok;
    time_t                      t;
    ngx_http_blob_get_t        *get;
    ngx_http_blob_error_e       error;
    ngx_http_blob_main_conf_t  *bmcf;

    get = ctx->op_data;

    /* ctx->fd is closed with the request (ngx_http_blob_fd_cleanup) */

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, ctx->error, NULL);
    }

    if (ctx->props_read) {
        bmcf = ngx_http_get_module_main_conf(r, ngx_http_blob_module);
        ngx_http_blob_props_cache_put(bmcf->props_cache, &ctx->blob_path,
                                      &get->props);
    }

    error = ngx_http_blob_conditions(r, ctx, 1, get->props.etag,
                                     get->props.mtime, 1);

    if (error != NGX_HTTP_BLOB_OK) {
        if (error == NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET_304) {
            /* 304 still tells the client what it has */
            if (ngx_http_blob_etag_format(r->pool, get->props.etag, 1, &etag)
                == NGX_OK)
            {
                (void) ngx_http_blob_header_out(r, "ETag", &etag);
            }
        }

        return ngx_http_blob_error(r, error, NULL);
    }

    /* If-Range: a range only if the blob is still the one the client had */

    if (get->ranged
        && ngx_http_blob_header_in_value(r, "if-range", &v) == NGX_OK)
    {
        if_range_ok = 0;

        if (v.len && v.data[0] == '"') {
            if (ngx_http_blob_etag_format(r->pool, get->props.etag, 1, &etag)
                == NGX_OK
                && etag.len == v.len
                && ngx_strncasecmp(etag.data, v.data, v.len) == 0)
            {
                if_range_ok = 1;
            }

        } else {
            t = ngx_http_blob_parse_time(&v);
            if_range_ok = (t != NGX_ERROR && t == get->props.mtime);
        }

        if (!if_range_ok) {
            get->ranged = 0;
            get->unsatisfiable = 0;
            get->range_md5_wanted = 0;
        }
    }

    if (get->ranged && get->unsatisfiable) {
        v.data = ngx_pnalloc(r->pool, sizeof("bytes */") + NGX_OFF_T_LEN);
        if (v.data != NULL) {
            v.len = ngx_sprintf(v.data, "bytes */%O", get->props.size)
                    - v.data;
            (void) ngx_http_blob_header_out(r, "Content-Range", &v);
        }

        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INVALID_RANGE, NULL);
    }

    return ngx_http_blob_send_file(r, ctx, get);
}


static ngx_int_t
ngx_http_blob_send_file(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_get_t *get)
{
    ngx_int_t     rc;
    ngx_str_t     v;
    ngx_buf_t    *b;
    ngx_uint_t    has_md5;
    ngx_file_t   *file;
    ngx_chain_t   out;

    /*
     * on a ranged read Content-MD5 is the range's (when asked for), and
     * the whole blob's travels as x-ms-blob-content-md5
     */

    has_md5 = get->props.has_md5;

    if (get->ranged) {
        get->props.has_md5 = 0;
    }

    rc = ngx_http_blob_props_headers(r, ctx, &get->props);

    get->props.has_md5 = has_md5;

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->op->handler == ngx_http_blob_get_blob_metadata) {
        /* only metadata, ETag and Last-Modified are Azure's answer here */
        r->headers_out.status = NGX_HTTP_OK;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    if (!get->ranged) {
        get->start = 0;
        get->end = get->props.size;
    }

    if (get->ranged) {
        r->headers_out.status = NGX_HTTP_PARTIAL_CONTENT;

        v.data = ngx_pnalloc(r->pool, sizeof("bytes -/") + 3 * NGX_OFF_T_LEN);
        if (v.data == NULL) {
            return NGX_ERROR;
        }

        v.len = ngx_sprintf(v.data, "bytes %O-%O/%O", get->start,
                            get->end - 1, get->props.size) - v.data;

        if (ngx_http_blob_header_out(r, "Content-Range", &v) != NGX_OK) {
            return NGX_ERROR;
        }

        /* the whole blob's MD5 travels separately on ranged reads */

        if (get->props.has_md5) {
            if (ngx_http_blob_base64_header(r, "x-ms-blob-content-md5",
                                            get->props.content_md5, 16)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

        }

        if (get->range_md5_wanted
            && ngx_http_blob_base64_header(r, "Content-MD5", get->range_md5,
                                           16)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {
        r->headers_out.status = NGX_HTTP_OK;
    }

    r->headers_out.content_length_n = get->end - get->start;

    if (r->method == NGX_HTTP_HEAD || ctx->op->handler
                                      == ngx_http_blob_get_blob_properties)
    {
        r->header_only = 1;
        r->headers_out.content_length_n = get->props.size;
        return ngx_http_send_header(r);
    }

    b = ngx_calloc_buf(r->pool);
    file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b == NULL || file == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (get->inline_data) {
        b->pos = get->inline_data;
        b->last = get->inline_data + (get->end - get->start);
        b->memory = (b->last > b->pos) ? 1 : 0;
        b->sync = b->memory ? 0 : 1;
        b->last_buf = 1;
        b->last_in_chain = 1;

        out.buf = b;
        out.next = NULL;

        return ngx_http_output_filter(r, &out);
    }

    file->fd = ctx->fd;
    file->name = ctx->blob_path;
    file->log = r->connection->log;

    b->file_pos = get->start;
    b->file_last = get->end;
    b->in_file = (b->file_last > b->file_pos) ? 1 : 0;
    b->file = file;
    b->last_buf = 1;
    b->last_in_chain = 1;
    b->sync = b->in_file ? 0 : 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* Set Blob Properties, Set Blob Metadata */

ngx_int_t
ngx_http_blob_set_blob_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    return ngx_http_blob_set_start(r, ctx, 0);
}


ngx_int_t
ngx_http_blob_set_blob_metadata(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    return ngx_http_blob_set_start(r, ctx, 1);
}


static ngx_int_t
ngx_http_blob_set_start(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_uint_t metadata)
{
    ngx_int_t                      rc;
    ngx_http_blob_set_t           *set;
    ngx_http_blob_error_detail_t   detail;

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    set = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_set_t));
    if (set == NULL) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    ctx->op_data = set;
    set->metadata = metadata;

    if (metadata) {
        rc = ngx_http_blob_metadata_parse(r, &set->props.metadata, &detail);

    } else {
        rc = ngx_http_blob_read_content_headers(r, &set->props, &detail);
    }

    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_set_work,
                                  ngx_http_blob_set_done);
}


/*
 * A property change is a new version: a new modification time, hence a new
 * ETag, whose properties are written before the time is applied.  The
 * bytes stay where they are.
 */

static void
ngx_http_blob_set_work(ngx_http_blob_ctx_t *ctx)
{
    uint64_t                ns, old_etag;
    ngx_file_info_t         fi;
    ngx_http_blob_set_t    *set;
    ngx_http_blob_props_t  *old, *new;
    struct timespec         times[2];

    set = ctx->op_data;
    old = &set->result;
    new = &set->props;

    ctx->fd = ngx_http_blob_store_open(ctx, O_RDONLY);
    if (ctx->fd == NGX_INVALID_FILE) {
        return;
    }

    if (fstat(ctx->fd, &fi) == -1 || !S_ISREG(fi.st_mode)) {
        ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;
        goto done;
    }

    if (ngx_http_blob_store_load_props(ctx->task_pool, ctx, &ctx->state_path,
                                       &fi, old)
        != NGX_OK)
    {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        goto done;
    }

    ctx->error = ngx_http_blob_conditions(ctx->request, ctx, 1, old->etag,
                                          old->mtime, 0);
    if (ctx->error != NGX_HTTP_BLOB_OK) {
        goto done;
    }

    if (set->metadata) {
        old->metadata = new->metadata;

    } else {
        /* Azure clears the content properties the request leaves out */
        old->content_type = new->content_type;
        old->content_encoding = new->content_encoding;
        old->content_language = new->content_language;
        old->content_disposition = new->content_disposition;
        old->cache_control = new->cache_control;
        old->has_md5 = new->has_md5;
        ngx_memcpy(old->content_md5, new->content_md5, 16);
    }

    old_etag = old->etag;
    ns = ngx_http_blob_now_ns();

    fi.st_mtim.tv_sec = ns / 1000000000;
    fi.st_mtim.tv_nsec = ns % 1000000000;

    ngx_http_blob_store_props_from_file(&set->props, &fi);
    old->etag = set->props.etag;
    old->mtime = set->props.mtime;
    old->mtime_ns = set->props.mtime_ns;

    if (ngx_http_blob_store_save_props(ctx->task_pool, ctx, &ctx->state_path,
                                       old)
        != NGX_OK)
    {
        goto done;
    }

    /* the same bytes keep their committed block list */

    if (ngx_http_blob_block_keep_list(ctx, old_etag, old->etag) != NGX_OK) {
        goto done;
    }

    times[0] = fi.st_mtim;
    times[1] = fi.st_mtim;

    if (futimens(ctx->fd, times) == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "futimens()";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        goto done;
    }

    ngx_http_blob_store_prune(ctx, &ctx->state_path, old->etag, 0);

done:

    (void) close(ctx->fd);
    ctx->fd = NGX_INVALID_FILE;
}


static void
ngx_http_blob_set_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_str_t             etag;
    ngx_http_blob_set_t  *set;

    set = ctx->op_data;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    if (ngx_http_blob_etag_format(r->pool, set->result.etag, 1, &etag)
           != NGX_OK
        || ngx_http_blob_header_out(r, "ETag", &etag) != NGX_OK
        || ngx_http_blob_header_out_time(r, "Last-Modified",
                                         set->result.mtime) != NGX_OK
        || (set->metadata
            && ngx_http_blob_header_out_cstr(r,
                                             "x-ms-request-server-encrypted",
                                             "true") != NGX_OK)
        || ngx_http_blob_common_headers(r, ctx) != NGX_OK)
    {
        ngx_http_blob_finalize(r, NGX_ERROR);
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_send_header(r));
}


/* Delete Blob */

ngx_int_t
ngx_http_blob_delete_blob(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_delete_work,
                                  ngx_http_blob_delete_done);
}


static void
ngx_http_blob_delete_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_file_info_t  fi;

    if (ngx_http_blob_store_stat(ctx, &fi) != NGX_OK) {
        return;
    }

    ctx->error = ngx_http_blob_conditions(ctx->request, ctx, 1,
                                          ngx_http_blob_store_etag(&fi),
                                          fi.st_mtim.tv_sec, 0);
    if (ctx->error != NGX_HTTP_BLOB_OK) {
        return;
    }

    if (ngx_http_blob_store_unlink(ctx) != NGX_OK) {
        return;
    }

    /* virtual directories vanish with their last blob */
    ngx_http_blob_store_rmdir_parents(ctx->blob_path.data,
                                      ctx->container_path.len);

    /*
     * The uncommitted blocks go with the blob; the properties of its
     * versions are left to pruning and to the collector.  Removing the
     * whole state directory would take the properties that a concurrent
     * Put Blob or Put Block List has just written for its own version
     * before its rename: that version would appear without them.
     */

    ngx_http_blob_store_prune(ctx, &ctx->state_path, 0, 1);
}


static void
ngx_http_blob_delete_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    r->headers_out.status = NGX_HTTP_ACCEPTED;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    if (ngx_http_blob_header_out_cstr(r, "x-ms-delete-type-permanent", "true")
        != NGX_OK
        || ngx_http_blob_common_headers(r, ctx) != NGX_OK)
    {
        ngx_http_blob_finalize(r, NGX_ERROR);
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_send_header(r));
}


/* page and append blob operations: Azure's answer on a block blob */

ngx_int_t
ngx_http_blob_unsupported_blob_type(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_type_work,
                                  ngx_http_blob_type_done);
}


static void
ngx_http_blob_type_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_file_info_t  fi;

    if (ngx_http_blob_store_stat(ctx, &fi) == NGX_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INVALID_BLOB_TYPE;
    }
}


static void
ngx_http_blob_type_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
}


static ngx_int_t
ngx_http_blob_base64_header(ngx_http_request_t *r, char *name, u_char *data,
    size_t len)
{
    ngx_str_t  src, dst;

    dst.data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(len));
    if (dst.data == NULL) {
        return NGX_ERROR;
    }

    src.data = data;
    src.len = len;

    ngx_encode_base64(&dst, &src);

    return ngx_http_blob_header_out(r, name, &dst);
}


static uint64_t
ngx_http_blob_now_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_REALTIME, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/*
 * ngx_blob_module: block blobs built from blocks.
 *
 *   Put Block       stages one block as <state>/b-<hex of the block id>
 *   Put Block List  assembles the new blob in a staging file from the
 *                   uncommitted blocks and from the current blob's
 *                   committed ones, then publishes it with one rename(2)
 *   Get Block List  lists l-<etag> (the committed blocks of the current
 *                   version) and the b-* files
 *
 * Per-blob state lives in ctx->state_path (docs/LAYOUT.md):
 *
 *   name            the blob's name, for the GC and for listings
 *   b-<hex id>      an uncommitted block, as uploaded
 *   i-<n>           "the uncommitted ids are n bytes long": lets Put Block
 *                   skip reading the directory in the common case
 *   m-<etag>        properties of a version (ngx_http_blob_store.c)
 *   l-<etag>        committed block list of a version: "<hex id> <size>\n"
 *                   per block, in blob order
 *
 * A version's l- and m- files are written before its data file is renamed
 * into place, so whoever sees the new file finds its block list.  A blob
 * written by Put Blob or by an NFS client has no l- file for its etag: its
 * committed list is empty.
 */


#include "ngx_http_blob_module.h"


/* the longest list is 50,000 <Uncommitted> ids of 88 characters, indented */
#define NGX_HTTP_BLOB_BLOCK_LIST_XML_MAX  (8 * 1024 * 1024)

/* "<128 hex digits> <size>\n" for each of 50,000 blocks */
#define NGX_HTTP_BLOB_BLOCK_LIST_FILE_MAX                                    \
    (NGX_HTTP_BLOB_MAX_BLOCKS * (2 * NGX_HTTP_BLOB_MAX_BLOCK_ID + 2        \
                                 + NGX_OFF_T_LEN))

#define NGX_HTTP_BLOB_BLOCK_COPY_BUF      (256 * 1024)

/* one Put Block in this many (by id) counts the uncommitted blocks */
#define NGX_HTTP_BLOB_BLOCK_COUNT_SAMPLE  512

#define NGX_HTTP_BLOB_BLOCKS_COMMITTED    0x01
#define NGX_HTTP_BLOB_BLOCKS_UNCOMMITTED  0x02


/* one block of a block list */

typedef struct {
    ngx_str_t                    id;            /* decoded */
    off_t                        size;
    off_t                        offset;        /* in the current blob */
    uint64_t                     mtime_ns;      /* uncommitted: upload time */
    unsigned                     committed:1;
} ngx_http_blob_part_t;


typedef struct {
    /* from the request */
    ngx_str_t                    id;            /* Put Block, decoded */
    u_char                       md5[16];       /* transactional */
    uint64_t                     crc64;
    ngx_uint_t                   lists;         /* Get Block List */
    unsigned                     has_md5:1;
    unsigned                     has_crc64:1;
    unsigned                     conditional:1;
    unsigned                     create_only:1; /* If-None-Match: * */

    /* the body as received */
    u_char                       body_md5[16];
    ngx_http_blob_error_e        body_error;

    /* the current blob, as the last task saw it */
    unsigned                     exists:1;
    unsigned                     blocks:1;      /* uncommitted blocks exist */
    uint64_t                     etag;
    time_t                       mtime;
    off_t                        size;
    ngx_file_info_t              fi;

    ngx_array_t                 *refs;          /* the requested list */
    ngx_array_t                 *committed;     /* of ngx_http_blob_part_t */
    ngx_array_t                 *uncommitted;   /* of ngx_http_blob_part_t */
    ngx_array_t                 *parts;         /* of the new blob */
    ngx_http_blob_props_t        props;         /* of the new version */
    unsigned                     copy_fallback:1;
    u_char                      *copy_buf;
} ngx_http_blob_block_op_t;


static ngx_http_blob_block_op_t *ngx_http_blob_block_op(
    ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx);
static ngx_http_blob_error_e ngx_http_blob_block_checksums(
    ngx_http_request_t *r, ngx_http_blob_block_op_t *op,
    ngx_http_blob_error_detail_t *detail);
static ngx_http_blob_error_e ngx_http_blob_block_verify(
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_block_op_t *op);
static ngx_int_t ngx_http_blob_block_checksum_headers(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_block_op_t *op);
static ngx_http_blob_error_e ngx_http_blob_block_content_length(
    ngx_http_request_t *r, off_t max, ngx_http_blob_error_detail_t *detail);
static ngx_int_t ngx_http_blob_block_created(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static u_char *ngx_http_blob_block_path(ngx_pool_t *pool, ngx_str_t *state,
    u_char *buf, ngx_str_t *id);
static ngx_int_t ngx_http_blob_block_hex_decode(ngx_pool_t *pool, u_char *hex,
    size_t len, ngx_str_t *id);
static void ngx_http_blob_block_stat_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_block_stat_blob(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op);
static ngx_int_t ngx_http_blob_block_conditions(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op);

static void ngx_http_blob_put_block_checked(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_put_block_body(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_put_block_work(ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_block_admit(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op);
static void ngx_http_blob_block_sync_state(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_put_block_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);

static ngx_int_t ngx_http_blob_block_list_props(ngx_http_request_t *r,
    ngx_http_blob_block_op_t *op, ngx_http_blob_error_detail_t *detail);
static void ngx_http_blob_put_block_list_checked(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_put_block_list_body(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_put_block_list_work(ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_block_parse(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op);
static ngx_int_t ngx_http_blob_block_resolve(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_fd_t blob, ngx_file_info_t *fi);
static ngx_int_t ngx_http_blob_block_assemble(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_fd_t blob, ngx_str_t *staging,
    ngx_file_info_t *fi);
static ngx_int_t ngx_http_blob_block_copy(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_fd_t in, off_t in_off, ngx_fd_t out,
    off_t out_off, off_t len);
static ngx_int_t ngx_http_blob_block_write_list(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, u_char *path);
static ngx_int_t ngx_http_blob_block_name(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_put_block_list_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);

static void ngx_http_blob_get_block_list_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_get_block_list_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_block_load_list(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_file_info_t *fi);
static ngx_int_t ngx_http_blob_block_scan(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_uint_t collect);
static void ngx_http_blob_block_xml_list(ngx_http_blob_xml_t *x,
    char *name, ngx_array_t *parts, ngx_pool_t *pool);
static int ngx_libc_cdecl ngx_http_blob_block_cmp_id(const void *one,
    const void *two);
static int ngx_libc_cdecl ngx_http_blob_block_cmp_time(const void *one,
    const void *two);


/*
 * A block id as Azure accepts it: canonical base64 (what encoding the
 * decoded bytes gives back), not empty.  Returns NGX_DECLINED if the id is
 * not that; the caller checks the decoded length against its limit.
 */

ngx_int_t
ngx_http_blob_block_id_decode(ngx_pool_t *pool, ngx_str_t *b64, ngx_str_t *id)
{
    u_char     buf[ngx_base64_encoded_length(NGX_HTTP_BLOB_MAX_BLOCK_ID)];
    ngx_str_t  check;

    if (b64->len == 0 || b64->len % 4) {
        return NGX_DECLINED;
    }

    id->data = ngx_pnalloc(pool, ngx_base64_decoded_length(b64->len));
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64(id, b64) != NGX_OK || id->len == 0) {
        return NGX_DECLINED;
    }

    /* padding in the middle, or stray bits in the last character */

    if (ngx_base64_encoded_length(id->len) != b64->len) {
        return NGX_DECLINED;
    }

    if (id->len > NGX_HTTP_BLOB_MAX_BLOCK_ID) {
        /* too long anyway: the caller says so */
        return NGX_OK;
    }

    check.data = buf;
    ngx_encode_base64(&check, id);

    if (check.len != b64->len
        || ngx_memcmp(check.data, b64->data, b64->len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_http_blob_block_op_t *
ngx_http_blob_block_op(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_block_op_t  *op;

    op = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_block_op_t));
    if (op == NULL) {
        return NULL;
    }

    ctx->op_data = op;

    if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
        return NULL;
    }

    return op;
}


/*
 * Transactional checksums of the request body: Content-MD5 or
 * x-ms-content-crc64, not both.
 */

static ngx_http_blob_error_e
ngx_http_blob_block_checksums(ngx_http_request_t *r,
    ngx_http_blob_block_op_t *op, ngx_http_blob_error_detail_t *detail)
{
    u_char      buf[16];
    ngx_str_t   value, decoded;
    ngx_uint_t  i;

    if (ngx_http_blob_header_in_value(r, "content-md5", &value) == NGX_OK) {
        decoded.data = op->md5;

        if (value.len != ngx_base64_encoded_length(16)
            || ngx_decode_base64(&decoded, &value) != NGX_OK
            || decoded.len != 16)
        {
            ngx_str_set(&detail->header_name, "Content-MD5");
            detail->header_value = value;
            return NGX_HTTP_BLOB_ERR_INVALID_MD5;
        }

        op->has_md5 = 1;
    }

    if (ngx_http_blob_header_in_value(r, "x-ms-content-crc64", &value)
        == NGX_OK)
    {
        decoded.data = buf;

        if (op->has_md5
            || value.len != ngx_base64_encoded_length(8)
            || ngx_decode_base64(&decoded, &value) != NGX_OK
            || decoded.len != 8)
        {
            ngx_str_set(&detail->header_name, "x-ms-content-crc64");
            detail->header_value = value;
            return NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE;
        }

        /* Azure sends the CRC in little-endian byte order */

        op->crc64 = 0;

        for (i = 0; i < 8; i++) {
            op->crc64 |= (uint64_t) buf[i] << (8 * i);
        }

        op->has_crc64 = 1;
    }

    return NGX_HTTP_BLOB_OK;
}


static ngx_http_blob_error_e
ngx_http_blob_block_verify(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op)
{
    ngx_md5_final(op->body_md5, &ctx->body_md5);

    if (op->has_md5 && ngx_memcmp(op->md5, op->body_md5, 16) != 0) {
        return NGX_HTTP_BLOB_ERR_MD5_MISMATCH;
    }

    if (op->has_crc64 && op->crc64 != ctx->body_crc64) {
        return NGX_HTTP_BLOB_ERR_CRC64_MISMATCH;
    }

    return NGX_HTTP_BLOB_OK;
}


/*
 * What the body hashed to, for the client to check: Content-MD5 if it sent
 * one, x-ms-content-crc64 otherwise (versions 2019-02-02 and later).
 */

static ngx_int_t
ngx_http_blob_block_checksum_headers(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_block_op_t *op)
{
    u_char      crc[8];
    ngx_str_t   src, dst;
    ngx_uint_t  i;

    if (op->has_md5) {
        src.data = op->body_md5;
        src.len = 16;

    } else {
        for (i = 0; i < 8; i++) {
            crc[i] = (u_char) (ctx->body_crc64 >> (8 * i));
        }

        src.data = crc;
        src.len = 8;
    }

    dst.data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(src.len));
    if (dst.data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64(&dst, &src);

    return ngx_http_blob_header_out(r, op->has_md5 ? "Content-MD5"
                                                   : "x-ms-content-crc64",
                                    &dst);
}


static ngx_http_blob_error_e
ngx_http_blob_block_content_length(ngx_http_request_t *r, off_t max,
    ngx_http_blob_error_detail_t *detail)
{
    if (r->headers_in.content_length_n < 0) {
        return NGX_HTTP_BLOB_ERR_MISSING_CONTENT_LENGTH;
    }

    if (r->headers_in.content_length_n > max) {
        ngx_str_set(&detail->header_name, "Content-Length");
        detail->header_value = r->headers_in.content_length->value;
        return NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE;
    }

    return NGX_HTTP_BLOB_OK;
}


static ngx_int_t
ngx_http_blob_block_created(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    r->headers_out.status = NGX_HTTP_CREATED;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    if (ngx_http_blob_header_out_cstr(r, "x-ms-request-server-encrypted",
                                      "true")
        != NGX_OK
        || ngx_http_blob_common_headers(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_send_header(r);
}


/*
 * "<state>/b-<hex of id>", null-terminated, in buf if given: a list of
 * 50,000 blocks reuses one buffer
 */

static u_char *
ngx_http_blob_block_path(ngx_pool_t *pool, ngx_str_t *state, u_char *buf,
    ngx_str_t *id)
{
    u_char  *p;

    if (buf == NULL) {
        buf = ngx_pnalloc(pool, state->len + sizeof("/b-")
                                + 2 * NGX_HTTP_BLOB_MAX_BLOCK_ID);
        if (buf == NULL) {
            return NULL;
        }
    }

    p = ngx_cpymem(buf, state->data, state->len);
    p = ngx_cpymem(p, "/b-", sizeof("/b-") - 1);
    p = ngx_hex_dump(p, id->data, id->len);
    *p = '\0';

    return buf;
}


static ngx_int_t
ngx_http_blob_block_hex_decode(ngx_pool_t *pool, u_char *hex, size_t len,
    ngx_str_t *id)
{
    u_char      c, *d;
    size_t      i;
    ngx_uint_t  v;

    if (len == 0 || len % 2 || len > 2 * NGX_HTTP_BLOB_MAX_BLOCK_ID) {
        return NGX_DECLINED;
    }

    d = ngx_pnalloc(pool, len / 2);
    if (d == NULL) {
        return NGX_ERROR;
    }

    id->data = d;
    id->len = len / 2;

    v = 0;

    for (i = 0; i < len; i++) {
        c = hex[i];

        if (c >= '0' && c <= '9') {
            v = (v << 4) | (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            v = (v << 4) | (c - 'a' + 10);

        } else {
            return NGX_DECLINED;
        }

        if (i % 2) {
            *d++ = (u_char) v;
            v = 0;
        }
    }

    return NGX_OK;
}


/* thread: does the container exist, and what is at the blob's path */

static void
ngx_http_blob_block_stat_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_file_info_t            fi;
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    /* lstat(): a container that is a link is none */

    if (ngx_link_info(ctx->container_path.data, &fi) == NGX_FILE_ERROR) {
        ctx->err = ngx_errno;

        if (ctx->err == NGX_ENOENT || ctx->err == NGX_ENOTDIR) {
            ctx->error = NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND;
            return;
        }

        ctx->failed = "lstat() of the container";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        return;
    }

    if (!S_ISDIR(fi.st_mode)) {
        ctx->error = NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND;
        return;
    }

    ngx_http_blob_block_stat_blob(ctx, op);
}


/* only a regular file is a blob; a directory is a "virtual directory" */

static void
ngx_http_blob_block_stat_blob(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op)
{
    op->exists = 0;
    op->etag = 0;
    op->mtime = 0;
    op->size = 0;

    if (stat((char *) ctx->blob_path.data, &op->fi) == -1
        || !S_ISREG(op->fi.st_mode))
    {
        return;
    }

    op->exists = 1;
    op->etag = ngx_http_blob_store_etag(&op->fi);
    op->mtime = op->fi.st_mtim.tv_sec;
    op->size = op->fi.st_size;
}


/*
 * The conditions once more, in the thread, against the blob as it is now:
 * they only read request headers.  Without conditions the last writer
 * wins.
 */

static ngx_int_t
ngx_http_blob_block_conditions(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op)
{
    if (!op->conditional) {
        return NGX_OK;
    }

    ctx->error = ngx_http_blob_conditions(ctx->request, ctx, op->exists,
                                          op->etag, op->mtime, 0);

    return (ctx->error == NGX_HTTP_BLOB_OK) ? NGX_OK : NGX_ERROR;
}


/* Put Block */

ngx_int_t
ngx_http_blob_put_block(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_str_t                      raw, value;
    ngx_http_blob_block_op_t      *op;
    ngx_http_blob_error_detail_t   detail;

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    op = ngx_http_blob_block_op(r, ctx);
    if (op == NULL) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    ngx_str_set(&detail.query_name, "blockid");

    if (ngx_http_blob_arg(r, "blockid", &raw) != NGX_OK) {
        return ngx_http_blob_error(r,
                            NGX_HTTP_BLOB_ERR_MISSING_REQUIRED_QUERY_PARAMETER,
                            &detail);
    }

    detail.query_value = raw;

    if (ngx_http_blob_unescape(r->pool, &raw, &value, 0) != NGX_OK) {
        ngx_str_set(&detail.reason, "Not a valid base64 string.");
        return ngx_http_blob_error(r,
                               NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE,
                               &detail);
    }

    detail.query_value = value;

    rc = ngx_http_blob_block_id_decode(r->pool, &value, &op->id);

    if (rc == NGX_ERROR) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    if (rc == NGX_DECLINED) {
        ngx_str_set(&detail.reason, "Not a valid base64 string.");
        return ngx_http_blob_error(r,
                               NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE,
                               &detail);
    }

    if (op->id.len > NGX_HTTP_BLOB_MAX_BLOCK_ID) {
        ngx_str_set(&detail.reason, "Block ID length cannot exceed 64.");
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_OUT_OF_RANGE_INPUT,
                                   &detail);
    }

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    rc = ngx_http_blob_block_content_length(r, ctx->conf->max_put_block,
                                            &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    rc = ngx_http_blob_block_checksums(r, op, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    /* the container is checked before a body of up to 4000 MiB is read */

    ctx->error = NGX_HTTP_BLOB_OK;

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_block_stat_work,
                                  ngx_http_blob_put_block_checked);
}


static void
ngx_http_blob_put_block_checked(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_block_op_t  *op;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    /* the answer carries the MD5 if one was sent, the CRC-64 otherwise */

    op = ctx->op_data;
    ctx->body_skip_md5 = op->has_md5 ? 0 : 1;
    ctx->body_skip_crc64 = op->has_md5 ? 1 : 0;

    ngx_http_blob_finalize(r, ngx_http_blob_body_read(r, ctx,
                                             ngx_http_blob_put_block_body));
}


static void
ngx_http_blob_put_block_body(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    op->body_error = ngx_http_blob_block_verify(ctx, op);

    /* the staged body is moved into place, or removed, in the thread */

    ctx->error = NGX_HTTP_BLOB_OK;

    ngx_http_blob_finalize(r, ngx_http_blob_task_run(r, ctx,
                                             ngx_http_blob_put_block_work,
                                             ngx_http_blob_put_block_done));
}


static void
ngx_http_blob_put_block_work(ngx_http_blob_ctx_t *ctx)
{
    u_char                    *path;
    ngx_uint_t                 i;
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    /* the staged body is this task's to move or remove */
    ctx->committed = 1;

    if (op->body_error != NGX_HTTP_BLOB_OK) {
        ctx->error = op->body_error;
        goto failed;
    }

    path = ngx_http_blob_block_path(ctx->task_pool, &ctx->state_path, NULL,
                                    &op->id);
    if (path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        goto failed;
    }

    if (ngx_http_blob_block_admit(ctx, op) != NGX_OK) {
        goto failed;
    }

    /*
     * the body was fsync()ed as it was staged; the GC may have removed an
     * idle state directory meanwhile
     */

    for (i = 0; i < 2; i++) {

        if (rename((char *) ctx->temp_path.data, (char *) path) == 0) {
            ngx_http_blob_block_sync_state(ctx);
            return;
        }

        ctx->err = ngx_errno;

        if (ctx->err != NGX_ENOENT
            || ngx_http_blob_store_mkdir_parents(ctx, path,
                                                 ctx->account_root.len)
               != NGX_OK)
        {
            break;
        }
    }

    ctx->failed = "rename() of a block";
    ctx->error = ngx_http_blob_errno_error(ctx->err);

    if (ctx->error == NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

failed:

    (void) unlink((char *) ctx->temp_path.data);
}


/*
 * An acknowledged block must survive a power cut, as the commit that names
 * it may come much later: its name in the state directory is made durable
 * before the answer.  If that fails the block is in place, but not known to
 * last: the client is told to retry.
 */

static void
ngx_http_blob_block_sync_state(ngx_http_blob_ctx_t *ctx)
{
    int  fd;

    if (!ctx->conf->fsync) {
        return;
    }

    fd = open((char *) ctx->state_path.data, O_RDONLY|O_DIRECTORY);

    if (fd != -1 && (fsync(fd) == 0 || ngx_errno == NGX_EINVAL)) {
        close(fd);
        return;
    }

    ctx->err = ngx_errno;
    ctx->failed = "fsync() of a state directory";
    ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;

    if (fd != -1) {
        close(fd);
    }
}


/*
 * All uncommitted ids of a blob have one length, and there are at most
 * 100,000 of them.  Reading a directory of up to 100,000 names for each
 * block would make an upload quadratic, so the i-<length> marker answers
 * the first question, and the count is taken for a sample of the ids only:
 * the limit is there to bound the state, not to be exact to the block.
 */

static ngx_int_t
ngx_http_blob_block_admit(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op)
{
    u_char          *marker, *p, *own, *path;
    DIR             *dir;
    size_t           len, hexlen;
    ngx_fd_t         fd;
    ngx_uint_t       count, sample, present, mismatch;
    struct dirent   *de;
    ngx_file_info_t  fi;

    marker = ngx_pnalloc(ctx->task_pool, ctx->state_path.len
                                         + sizeof("/i-") + NGX_INT_T_LEN);
    own = ngx_pnalloc(ctx->task_pool, 2 + 2 * op->id.len + 1);
    path = ngx_pnalloc(ctx->task_pool, ctx->state_path.len + 1 + NAME_MAX
                                       + 1);
    if (marker == NULL || own == NULL || path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ngx_sprintf(marker, "%V/i-%uz%Z", &ctx->state_path, op->id.len);

    p = ngx_cpymem(own, "b-", 2);
    *ngx_hex_dump(p, op->id.data, op->id.len) = '\0';

    hexlen = 2 * op->id.len;

    sample = (ngx_crc32_short(op->id.data, op->id.len)
              % NGX_HTTP_BLOB_BLOCK_COUNT_SAMPLE) == 0;

    if (!sample && stat((char *) marker, &fi) == 0) {
        return NGX_OK;
    }

    count = 0;
    present = 0;
    mismatch = 0;

    p = ngx_cpymem(path, ctx->state_path.data, ctx->state_path.len);
    *p++ = '/';

    dir = opendir((char *) ctx->state_path.data);

    if (dir == NULL) {
        if (ngx_errno != NGX_ENOENT) {
            ctx->err = ngx_errno;
            ctx->failed = "opendir() of a blob's state";
            ctx->error = ngx_http_blob_errno_error(ctx->err);
            return NGX_ERROR;
        }

        /* the blob's first block */

        if (ngx_http_blob_store_mkdir_parents(ctx, marker,
                                              ctx->account_root.len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {

        while ((de = readdir(dir)) != NULL) {
            len = ngx_strlen(de->d_name);

            if (len > 2 && de->d_name[0] == 'b' && de->d_name[1] == '-') {
                count++;

                if (len - 2 != hexlen) {
                    mismatch = 1;

                } else if (ngx_strcmp(de->d_name, own) == 0) {
                    present = 1;
                }

                continue;
            }

            /* a marker left behind by blocks the GC has since removed */

            if (len > 2 && de->d_name[0] == 'i' && de->d_name[1] == '-'
                && ngx_strcmp(de->d_name,
                              marker + ctx->state_path.len + 1) != 0)
            {
                ngx_cpystrn(p, (u_char *) de->d_name, len + 1);
                (void) unlink((char *) path);
            }
        }

        closedir(dir);
    }

    if (mismatch) {
        /* "The specified blob or block content is invalid." */
        ctx->error = NGX_HTTP_BLOB_ERR_INVALID_BLOCK_ID;
        return NGX_ERROR;
    }

    if (!present && count >= NGX_HTTP_BLOB_MAX_UNCOMMITTED) {
        ctx->error = NGX_HTTP_BLOB_ERR_BLOCK_COUNT_EXCEEDS_LIMIT;
        return NGX_ERROR;
    }

    if (stat((char *) marker, &fi) == -1) {
        fd = open((char *) marker, O_WRONLY|O_CREAT, 0644);

        if (fd == -1) {
            ctx->err = ngx_errno;
            ctx->failed = "open() of a block id marker";
            ctx->error = ngx_http_blob_errno_error(ctx->err);
            return NGX_ERROR;
        }

        close(fd);
    }

    return ngx_http_blob_block_name(ctx);
}


/* the blob's name beside its state, written once, for the GC and listings */

static ngx_int_t
ngx_http_blob_block_name(ngx_http_blob_ctx_t *ctx)
{
    u_char           *path;
    ngx_file_info_t   fi;

    path = ngx_pnalloc(ctx->task_pool, ctx->state_path.len + sizeof("/name"));
    if (path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ngx_sprintf(path, "%V/name%Z", &ctx->state_path);

    if (stat((char *) path, &fi) == 0) {
        return NGX_OK;
    }

    return ngx_http_blob_store_write_file(ctx, path, ctx->blob.data,
                                          ctx->blob.len);
}


static void
ngx_http_blob_put_block_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    if (ngx_http_blob_block_checksum_headers(r, ctx, op) != NGX_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                         NGX_HTTP_BLOB_ERR_INTERNAL_ERROR,
                                         NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_block_created(r, ctx));
}


/* Put Block List */

ngx_int_t
ngx_http_blob_put_block_list(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_http_blob_block_op_t      *op;
    ngx_http_blob_error_detail_t   detail;

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    op = ngx_http_blob_block_op(r, ctx);
    if (op == NULL) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    rc = ngx_http_blob_block_content_length(r,
                                            NGX_HTTP_BLOB_BLOCK_LIST_XML_MAX,
                                            &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    rc = ngx_http_blob_block_checksums(r, op, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    rc = ngx_http_blob_block_list_props(r, op, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    op->conditional = (r->headers_in.if_match != NULL
                       || r->headers_in.if_none_match != NULL
                       || r->headers_in.if_modified_since != NULL
                       || r->headers_in.if_unmodified_since != NULL);

    op->create_only = (r->headers_in.if_none_match != NULL
                       && r->headers_in.if_none_match->value.len == 1
                       && r->headers_in.if_none_match->value.data[0] == '*');

    ctx->error = NGX_HTTP_BLOB_OK;

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_block_stat_work,
                                  ngx_http_blob_put_block_list_checked);
}


/*
 * The new version's properties: all replaced, none kept from the old one;
 * an empty header is no header (rclone sends them empty).
 */

static ngx_int_t
ngx_http_blob_block_list_props(ngx_http_request_t *r,
    ngx_http_blob_block_op_t *op, ngx_http_blob_error_detail_t *detail)
{
    ngx_str_t               value, decoded;
    ngx_http_blob_props_t  *props;

    props = &op->props;

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

    if (props->content_type.len == 0) {
        ngx_str_set(&props->content_type, "application/octet-stream");
    }

    /* stored as given: the blocks were checked one by one on upload */

    if (ngx_http_blob_header_in_value(r, "x-ms-blob-content-md5", &value)
        == NGX_OK)
    {
        decoded.data = props->content_md5;

        if (value.len != ngx_base64_encoded_length(16)
            || ngx_decode_base64(&decoded, &value) != NGX_OK
            || decoded.len != 16)
        {
            ngx_str_set(&detail->header_name, "x-ms-blob-content-md5");
            detail->header_value = value;
            return NGX_HTTP_BLOB_ERR_INVALID_MD5;
        }

        props->has_md5 = 1;
    }

    if (ngx_http_blob_content_headers_check(props, detail)
        != NGX_HTTP_BLOB_OK)
    {
        return NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE;
    }

    return ngx_http_blob_metadata_parse(r, &props->metadata, detail);
}


static void
ngx_http_blob_put_block_list_checked(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_error_e      rc;
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    rc = ngx_http_blob_conditions(r, ctx, op->exists, op->etag, op->mtime, 0);
    if (rc != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, rc, NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_body_read(r, ctx,
                                         ngx_http_blob_put_block_list_body));
}


static void
ngx_http_blob_put_block_list_body(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    op->body_error = ngx_http_blob_block_verify(ctx, op);

    ctx->error = NGX_HTTP_BLOB_OK;

    ngx_http_blob_finalize(r, ngx_http_blob_task_run(r, ctx,
                                         ngx_http_blob_put_block_list_work,
                                         ngx_http_blob_put_block_list_done));
}


/*
 * The commit, in one task: read the list, find every block, write the new
 * blob beside the old one, its block list and properties, and publish.  A
 * conditional request checks again just before the rename that the blob
 * is still the one its conditions were evaluated against; if not, the
 * event loop evaluates them again and this runs once more.
 */

static void
ngx_http_blob_put_block_list_work(ngx_http_blob_ctx_t *ctx)
{
    u_char                    *list, *props_path;
    uint64_t                   etag;
    ngx_fd_t                   blob;
    ngx_int_t                  rc;
    ngx_str_t                  staging;
    ngx_file_info_t            now;
    ngx_http_blob_props_t      old;
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    blob = NGX_INVALID_FILE;
    list = NULL;
    props_path = NULL;
    ngx_str_null(&staging);

    if (op->refs == NULL && ngx_http_blob_block_parse(ctx, op) != NGX_OK) {
        return;
    }

    /* the current blob: its committed blocks are read from this very fd */

    blob = ngx_http_blob_store_open(ctx, O_RDONLY);

    if (blob == NGX_INVALID_FILE) {
        /* no blob yet is no error here; a missing container shows later */
        ctx->error = NGX_HTTP_BLOB_OK;
        ctx->failed = NULL;
        ctx->err = 0;
    }

    if (blob != NGX_INVALID_FILE
        && (fstat(blob, &op->fi) == -1 || !S_ISREG(op->fi.st_mode)))
    {
        close(blob);
        blob = NGX_INVALID_FILE;
    }

    op->exists = (blob != NGX_INVALID_FILE);

    if (op->exists) {
        op->etag = ngx_http_blob_store_etag(&op->fi);
        op->mtime = op->fi.st_mtim.tv_sec;
    }

    if (ngx_http_blob_block_conditions(ctx, op) != NGX_OK) {
        goto failed;
    }

    if (ngx_http_blob_block_resolve(ctx, op, blob, &op->fi) != NGX_OK) {
        goto failed;
    }

    if (ngx_http_blob_block_assemble(ctx, op, blob, &staging, &now) != NGX_OK)
    {
        goto failed;
    }

    ngx_http_blob_store_props_from_file(&op->props, &now);

    if (blob != NGX_INVALID_FILE) {
        /* overwriting keeps the blob's creation time */

        if (ngx_http_blob_store_load_props(ctx->task_pool, ctx,
                                           &ctx->state_path, &op->fi, &old)
            == NGX_OK)
        {
            op->props.creation_time = old.creation_time;
        }

        close(blob);
        blob = NGX_INVALID_FILE;
    }

    etag = op->props.etag;

    list = ngx_pnalloc(ctx->task_pool, ctx->state_path.len + sizeof("/l-")
                                       + 16);
    props_path = ngx_pnalloc(ctx->task_pool, ctx->state_path.len
                                             + sizeof("/m-") + 16);
    if (list == NULL || props_path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        goto failed;
    }

    ngx_sprintf(list, "%V/l-%016xL%Z", &ctx->state_path, etag);
    ngx_sprintf(props_path, "%V/m-%016xL%Z", &ctx->state_path, etag);

    if (ngx_http_blob_block_name(ctx) != NGX_OK
        || ngx_http_blob_block_write_list(ctx, op, list) != NGX_OK
        || ngx_http_blob_store_save_props(ctx->task_pool, ctx,
                                          &ctx->state_path, &op->props)
           != NGX_OK)
    {
        goto failed;
    }

    /* the blob may have changed while this one was assembled */

    if (op->conditional) {
        ngx_http_blob_block_stat_blob(ctx, op);

        if (ngx_http_blob_block_conditions(ctx, op) != NGX_OK) {
            goto failed;
        }
    }

    if (op->create_only) {
        rc = ngx_http_blob_store_publish_new(ctx, staging.data,
                                             ctx->blob_path.data,
                                             ctx->container_path.len);

    } else {
        rc = ngx_http_blob_store_publish(ctx, staging.data,
                                         ctx->blob_path.data,
                                         ctx->container_path.len);
    }

    if (rc != NGX_OK) {
        goto failed;
    }

    /* uncommitted blocks go with the commit, as do older versions */

    ngx_http_blob_store_prune(ctx, &ctx->state_path, op->props.etag, 1);

    return;

failed:

    if (blob != NGX_INVALID_FILE) {
        close(blob);
    }

    if (staging.len) {
        (void) unlink((char *) staging.data);
    }

    if (list) {
        (void) unlink((char *) list);
    }

    if (props_path) {
        (void) unlink((char *) props_path);
    }

    if (ctx->error == NGX_HTTP_BLOB_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }
}


static ngx_int_t
ngx_http_blob_block_parse(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op)
{
    ngx_fd_t               fd;
    ngx_array_t           *refs;
    ngx_http_blob_error_e  rc;

    ctx->committed = 1;

    if (op->body_error != NGX_HTTP_BLOB_OK) {
        ctx->error = op->body_error;
        (void) unlink((char *) ctx->temp_path.data);
        return NGX_ERROR;
    }

    refs = ngx_array_create(ctx->task_pool, 64,
                            sizeof(ngx_http_blob_block_ref_t));
    if (refs == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        (void) unlink((char *) ctx->temp_path.data);
        return NGX_ERROR;
    }

    fd = open((char *) ctx->temp_path.data, O_RDONLY);

    if (fd == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "open() of the block list";
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        (void) unlink((char *) ctx->temp_path.data);
        return NGX_ERROR;
    }

    rc = ngx_http_blob_xml_read_block_list(ctx->task_pool, fd, refs,
                                           NGX_HTTP_BLOB_MAX_BLOCKS,
                                           &ctx->err);
    close(fd);

    (void) unlink((char *) ctx->temp_path.data);

    if (rc != NGX_HTTP_BLOB_OK) {
        if (ctx->err) {
            ctx->failed = "read() of the block list";
        }

        ctx->error = rc;
        return NGX_ERROR;
    }

    op->refs = refs;

    return NGX_OK;
}


/*
 * Finds each requested block: Uncommitted in the b- files, Committed in
 * the current version's list, Latest in the former first.
 */

static ngx_int_t
ngx_http_blob_block_resolve(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_fd_t blob, ngx_file_info_t *fi)
{
    u_char                      *path;
    ngx_uint_t                   i, j, n;
    ngx_file_info_t              bfi;
    ngx_http_blob_part_t        *part, **sorted, key, *kp, **found;
    ngx_http_blob_block_ref_t   *ref;

    op->committed = NULL;
    path = NULL;

    if (blob != NGX_INVALID_FILE) {
        if (ngx_http_blob_block_load_list(ctx, op, fi) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* committed blocks by id, for lookups */

    n = op->committed ? op->committed->nelts : 0;
    sorted = NULL;

    if (n) {
        sorted = ngx_palloc(ctx->task_pool, n * sizeof(ngx_http_blob_part_t *));
        if (sorted == NULL) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return NGX_ERROR;
        }

        part = op->committed->elts;

        for (i = 0; i < n; i++) {
            sorted[i] = &part[i];
        }

        ngx_qsort(sorted, n, sizeof(ngx_http_blob_part_t *),
                  ngx_http_blob_block_cmp_id);
    }

    op->parts = ngx_array_create(ctx->task_pool, op->refs->nelts + 1,
                                 sizeof(ngx_http_blob_part_t));
    if (op->parts == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ref = op->refs->elts;

    for (i = 0; i < op->refs->nelts; i++) {

        part = ngx_array_push(op->parts);
        if (part == NULL) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return NGX_ERROR;
        }

        ngx_memzero(part, sizeof(ngx_http_blob_part_t));
        part->id = ref[i].id;

        if (ref[i].list != NGX_HTTP_BLOB_BLOCK_COMMITTED) {
            path = ngx_http_blob_block_path(ctx->task_pool, &ctx->state_path,
                                            path, &ref[i].id);
            if (path == NULL) {
                ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
                return NGX_ERROR;
            }

            if (stat((char *) path, &bfi) == 0 && S_ISREG(bfi.st_mode)) {
                part->size = bfi.st_size;
                continue;
            }

            if (ref[i].list == NGX_HTTP_BLOB_BLOCK_UNCOMMITTED) {
                ctx->error = NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST;
                return NGX_ERROR;
            }
        }

        key.id = ref[i].id;
        kp = &key;

        found = n ? bsearch(&kp, sorted, n, sizeof(ngx_http_blob_part_t *),
                            ngx_http_blob_block_cmp_id)
                  : NULL;

        if (found == NULL) {
            ctx->error = NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST;
            return NGX_ERROR;
        }

        part->committed = 1;
        part->size = (*found)->size;
        part->offset = (*found)->offset;
    }

    /*
     * One id may appear several times, but all from one list: a block
     * from both the old and the new blocks would make the id ambiguous.
     */

    n = op->parts->nelts;

    if (n < 2) {
        return NGX_OK;
    }

    sorted = ngx_palloc(ctx->task_pool, n * sizeof(ngx_http_blob_part_t *));
    if (sorted == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    part = op->parts->elts;

    for (i = 0; i < n; i++) {
        sorted[i] = &part[i];
    }

    ngx_qsort(sorted, n, sizeof(ngx_http_blob_part_t *),
              ngx_http_blob_block_cmp_id);

    for (i = 0, j = 1; j < n; i++, j++) {
        if (sorted[i]->committed != sorted[j]->committed
            && ngx_http_blob_block_cmp_id(&sorted[i], &sorted[j]) == 0)
        {
            ctx->error = NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST;
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The new blob in a staging file on the same filesystem: copy_file_range()
 * lets the kernel (or the NFS server, or a reflink) move the bytes; a
 * blob of a single uncommitted block is not copied at all but linked.
 */

static ngx_int_t
ngx_http_blob_block_assemble(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_fd_t blob, ngx_str_t *staging,
    ngx_file_info_t *fi)
{
    u_char                *path;
    off_t                  offset;
    ngx_fd_t               fd, in;
    ngx_uint_t             i, linked;
    struct timespec        times[2];
    ngx_file_info_t        bfi;
    ngx_http_blob_part_t  *part;

    if (ngx_http_blob_store_temp_name(ctx->task_pool, &ctx->account_root,
                                      staging)
        != NGX_OK)
    {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    part = op->parts->elts;
    linked = 0;
    path = NULL;

    if (op->parts->nelts == 1 && !part[0].committed) {
        path = ngx_http_blob_block_path(ctx->task_pool, &ctx->state_path,
                                        NULL, &part[0].id);
        if (path == NULL) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return NGX_ERROR;
        }

        if (link((char *) path, (char *) staging->data) == -1
            && ngx_errno == NGX_ENOENT
            && ngx_http_blob_store_mkdir_parents(ctx, staging->data,
                                                 ctx->account_root.len)
               == NGX_OK)
        {
            (void) link((char *) path, (char *) staging->data);
        }

        fd = open((char *) staging->data, O_WRONLY);

        if (fd != NGX_INVALID_FILE) {
            linked = 1;

        } else if (ngx_errno != NGX_ENOENT) {
            ctx->err = ngx_errno;
            ctx->failed = "open() of a staging file";
            ctx->error = ngx_http_blob_errno_error(ctx->err);
            return NGX_ERROR;
        }
    }

    if (!linked) {
        fd = open((char *) staging->data, O_WRONLY|O_CREAT|O_EXCL, 0644);

        if (fd == NGX_INVALID_FILE && ngx_errno == NGX_ENOENT
            && ngx_http_blob_store_mkdir_parents(ctx, staging->data,
                                                 ctx->account_root.len)
               == NGX_OK)
        {
            fd = open((char *) staging->data, O_WRONLY|O_CREAT|O_EXCL, 0644);
        }

        if (fd == NGX_INVALID_FILE) {
            ctx->err = ngx_errno;
            ctx->failed = "open() of a staging file";
            ctx->error = ngx_http_blob_errno_error(ctx->err);

            if (ctx->error == NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND) {
                ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            }

            ngx_str_null(staging);
            return NGX_ERROR;
        }

        offset = 0;

        for (i = 0; i < op->parts->nelts; i++) {

            if (part[i].committed) {
                if (ngx_http_blob_block_copy(ctx, op, blob, part[i].offset,
                                             fd, offset, part[i].size)
                    != NGX_OK)
                {
                    goto failed;
                }

                offset += part[i].size;
                continue;
            }

            path = ngx_http_blob_block_path(ctx->task_pool, &ctx->state_path,
                                            path, &part[i].id);
            if (path == NULL) {
                ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
                goto failed;
            }

            /* a concurrent commit of this blob may have taken the block */

            in = open((char *) path, O_RDONLY|O_NONBLOCK);

            if (in == NGX_INVALID_FILE) {
                ctx->err = ngx_errno;

                if (ctx->err == NGX_ENOENT) {
                    ctx->error = NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST;

                } else {
                    ctx->failed = "open() of a block";
                    ctx->error = ngx_http_blob_errno_error(ctx->err);
                }

                goto failed;
            }

            /* and a concurrent Put Block may have replaced it */

            if (fstat(in, &bfi) == -1) {
                ctx->err = ngx_errno;
                ctx->failed = "fstat() of a block";
                ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
                close(in);
                goto failed;
            }

            part[i].size = bfi.st_size;

            if (ngx_http_blob_block_copy(ctx, op, in, 0, fd, offset,
                                         part[i].size)
                != NGX_OK)
            {
                close(in);
                goto failed;
            }

            close(in);

            offset += part[i].size;
        }
    }

    if (ctx->conf->fsync && fsync(fd) == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "fsync() of a staging file";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        goto failed;
    }

    /* the commit's own nanosecond time makes the new version's ETag */

    (void) clock_gettime(CLOCK_REALTIME, &times[0]);
    times[1] = times[0];

    if (futimens(fd, times) == -1 || fstat(fd, fi) == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "futimens() of a staging file";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        goto failed;
    }

    if (linked) {
        part[0].size = fi->st_size;
    }

    if (close(fd) == -1) {
        /* NFS reports a failed write-back at close */
        ctx->err = ngx_errno;
        ctx->failed = "close() of a staging file";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        return NGX_ERROR;
    }

    return NGX_OK;

failed:

    close(fd);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_blob_block_copy(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_fd_t in, off_t in_off, ngx_fd_t out,
    off_t out_off, off_t len)
{
    u_char   *p;
    size_t    size;
    ssize_t   n, w;

    while (len > 0) {

        size = (len > NGX_MAX_SIZE_T_VALUE / 2) ? NGX_MAX_SIZE_T_VALUE / 2
                                                 : (size_t) len;

        if (!op->copy_fallback) {
            n = copy_file_range(in, &in_off, out, &out_off, size, 0);

            if (n > 0) {
                len -= n;
                continue;
            }

            if (n == -1) {
                switch (ngx_errno) {

                case NGX_EINTR:
                    continue;

                case EXDEV:
                case EINVAL:
                case ENOSYS:
                case EOPNOTSUPP:
                case EBADF:
                    /* not between these files: copy through memory */
                    op->copy_fallback = 1;
                    continue;

                default:
                    ctx->err = ngx_errno;
                    ctx->failed = "copy_file_range()";
                    ctx->error = ngx_http_blob_errno_error(ctx->err);
                    return NGX_ERROR;
                }
            }

            /* the source ended early: it changed under us */
            ctx->error = NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST;
            return NGX_ERROR;
        }

        if (op->copy_buf == NULL) {
            op->copy_buf = ngx_palloc(ctx->task_pool,
                                      NGX_HTTP_BLOB_BLOCK_COPY_BUF);
            if (op->copy_buf == NULL) {
                ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
                return NGX_ERROR;
            }
        }

        size = ngx_min(size, NGX_HTTP_BLOB_BLOCK_COPY_BUF);

        n = pread(in, op->copy_buf, size, in_off);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            ctx->err = ngx_errno;
            ctx->failed = "pread() of a block";
            ctx->error = ngx_http_blob_errno_error(ctx->err);
            return NGX_ERROR;
        }

        if (n == 0) {
            ctx->error = NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST;
            return NGX_ERROR;
        }

        in_off += n;
        len -= n;

        for (p = op->copy_buf; n > 0; p += w, n -= w, out_off += w) {
            w = pwrite(out, p, n, out_off);

            if (w == -1) {
                if (ngx_errno == NGX_EINTR) {
                    w = 0;
                    continue;
                }

                ctx->err = ngx_errno;
                ctx->failed = "pwrite() of a staging file";
                ctx->error = ngx_http_blob_errno_error(ctx->err);
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* l-<etag>: streamed out, a list may be 50,000 lines */

static ngx_int_t
ngx_http_blob_block_write_list(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, u_char *path)
{
    u_char                *buf, *p, *last;
    size_t                 size;
    ssize_t                n;
    ngx_fd_t               fd;
    ngx_uint_t             i;
    ngx_http_blob_part_t  *part;

    if (op->parts->nelts == 0) {
        return NGX_OK;
    }

    size = 64 * 1024;

    buf = ngx_palloc(ctx->task_pool, size);
    if (buf == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    fd = open((char *) path, O_WRONLY|O_CREAT|O_TRUNC, 0644);

    if (fd == NGX_INVALID_FILE) {
        ctx->err = ngx_errno;
        ctx->failed = "open() of a block list";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        return NGX_ERROR;
    }

    part = op->parts->elts;
    p = buf;
    last = buf + size;

    for (i = 0; i <= op->parts->nelts; i++) {

        if (i == op->parts->nelts
            || (size_t) (last - p) < 2 * NGX_HTTP_BLOB_MAX_BLOCK_ID + 2
                                     + NGX_OFF_T_LEN)
        {
            n = write(fd, buf, p - buf);

            if (n != p - buf) {
                ctx->err = (n == -1) ? ngx_errno : NGX_ENOSPC;
                ctx->failed = "write() of a block list";
                ctx->error = ngx_http_blob_errno_error(ctx->err);
                close(fd);
                return NGX_ERROR;
            }

            p = buf;

            if (i == op->parts->nelts) {
                break;
            }
        }

        p = ngx_hex_dump(p, part[i].id.data, part[i].id.len);
        p = ngx_sprintf(p, " %O\n", part[i].size);
    }

    if (ctx->conf->fsync && fsync(fd) == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "fsync() of a block list";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        close(fd);
        return NGX_ERROR;
    }

    if (close(fd) == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "close() of a block list";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A new version of the same bytes (Set Blob Properties, Set Blob Metadata)
 * keeps its committed block list: l-<old etag> becomes l-<new etag> too,
 * before the file's time changes.  Thread: syscalls only.
 */

ngx_int_t
ngx_http_blob_block_keep_list(ngx_http_blob_ctx_t *ctx, uint64_t old_etag,
    uint64_t new_etag)
{
    u_char     *from, *to;
    ngx_int_t   rc;
    ngx_str_t   data;

    from = ngx_pnalloc(ctx->task_pool, ctx->state_path.len + sizeof("/l-")
                                       + 16);
    to = ngx_pnalloc(ctx->task_pool, ctx->state_path.len + sizeof("/l-")
                                     + 16);
    if (from == NULL || to == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ngx_sprintf(from, "%V/l-%016xL%Z", &ctx->state_path, old_etag);
    ngx_sprintf(to, "%V/l-%016xL%Z", &ctx->state_path, new_etag);

    if (link((char *) from, (char *) to) == 0
        || ngx_errno == NGX_ENOENT || ngx_errno == NGX_EEXIST)
    {
        /* linked, or no list to keep */
        return NGX_OK;
    }

    /* a filesystem without hard links */

    rc = ngx_http_blob_store_read_file(ctx->task_pool, ctx, from, &data,
                                       NGX_HTTP_BLOB_BLOCK_LIST_FILE_MAX);

    if (rc == NGX_DECLINED && ctx->err == NGX_ENOENT) {
        ctx->err = 0;
        ctx->failed = NULL;
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    return ngx_http_blob_store_write_file(ctx, to, data.data, data.len);
}


static void
ngx_http_blob_put_block_list_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_str_t                  etag;
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    if (ngx_http_blob_etag_format(r->pool, op->props.etag, 1, &etag)
        != NGX_OK
        || ngx_http_blob_header_out(r, "ETag", &etag) != NGX_OK
        || ngx_http_blob_header_out_time(r, "Last-Modified", op->props.mtime)
           != NGX_OK
        || ngx_http_blob_block_checksum_headers(r, ctx, op) != NGX_OK)
    {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                         NGX_HTTP_BLOB_ERR_INTERNAL_ERROR,
                                         NULL));
        return;
    }

    ngx_http_blob_finalize(r, ngx_http_blob_block_created(r, ctx));
}


/* Get Block List */

ngx_int_t
ngx_http_blob_get_block_list(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_str_t                      type;
    ngx_http_blob_block_op_t      *op;
    ngx_http_blob_error_detail_t   detail;

    op = ngx_http_blob_block_op(r, ctx);
    if (op == NULL) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    if (ngx_http_blob_arg(r, "blocklisttype", &type) != NGX_OK) {
        op->lists = NGX_HTTP_BLOB_BLOCKS_COMMITTED;

    } else if (type.len == sizeof("committed") - 1
               && ngx_strncasecmp(type.data, (u_char *) "committed",
                                  type.len) == 0)
    {
        op->lists = NGX_HTTP_BLOB_BLOCKS_COMMITTED;

    } else if (type.len == sizeof("uncommitted") - 1
               && ngx_strncasecmp(type.data, (u_char *) "uncommitted",
                                  type.len) == 0)
    {
        op->lists = NGX_HTTP_BLOB_BLOCKS_UNCOMMITTED;

    } else if (type.len == sizeof("all") - 1
               && ngx_strncasecmp(type.data, (u_char *) "all", type.len) == 0)
    {
        op->lists = NGX_HTTP_BLOB_BLOCKS_COMMITTED
                    |NGX_HTTP_BLOB_BLOCKS_UNCOMMITTED;

    } else {
        ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));
        ngx_str_set(&detail.query_name, "blocklisttype");
        detail.query_value = type;

        return ngx_http_blob_error(r,
                               NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE,
                               &detail);
    }

    ctx->error = NGX_HTTP_BLOB_OK;

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_get_block_list_work,
                                  ngx_http_blob_get_block_list_done);
}


static void
ngx_http_blob_get_block_list_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    ngx_http_blob_block_stat_work(ctx);

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        return;
    }

    if (op->exists && (op->lists & NGX_HTTP_BLOB_BLOCKS_COMMITTED)
        && ngx_http_blob_block_load_list(ctx, op, &op->fi) != NGX_OK)
    {
        return;
    }

    /* without a blob, uncommitted blocks alone make it exist */

    if ((op->lists & NGX_HTTP_BLOB_BLOCKS_UNCOMMITTED) || !op->exists) {
        (void) ngx_http_blob_block_scan(ctx, op,
                             op->lists & NGX_HTTP_BLOB_BLOCKS_UNCOMMITTED);
    }
}


/*
 * The committed list of the version whose stat is fi; none if there is no
 * l- file for it or if it does not add up to the file's size (the file was
 * then written by someone else).
 */

static ngx_int_t
ngx_http_blob_block_load_list(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_file_info_t *fi)
{
    u_char                *path, *p, *last, *sp, *nl;
    off_t                  offset, size;
    ngx_int_t              rc;
    ngx_str_t              data;
    ngx_array_t           *list;
    ngx_http_blob_part_t  *part;

    op->committed = NULL;

    list = ngx_array_create(ctx->task_pool, 16, sizeof(ngx_http_blob_part_t));
    path = ngx_pnalloc(ctx->task_pool, ctx->state_path.len + sizeof("/l-")
                                       + 16);
    if (list == NULL || path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ngx_sprintf(path, "%V/l-%016xL%Z", &ctx->state_path,
                ngx_http_blob_store_etag(fi));

    rc = ngx_http_blob_store_read_file(ctx->task_pool, ctx, path, &data,
                                       NGX_HTTP_BLOB_BLOCK_LIST_FILE_MAX);

    if (rc == NGX_DECLINED && ctx->err == NGX_ENOENT) {
        ctx->err = 0;
        ctx->failed = NULL;
        op->committed = list;
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    p = data.data;
    last = data.data + data.len;
    offset = 0;

    while (p < last) {
        nl = ngx_strlchr(p, last, LF);
        sp = ngx_strlchr(p, nl ? nl : last, ' ');

        if (nl == NULL || sp == NULL) {
            goto invalid;
        }

        size = ngx_atoof(sp + 1, nl - sp - 1);

        part = ngx_array_push(list);
        if (part == NULL) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return NGX_ERROR;
        }

        ngx_memzero(part, sizeof(ngx_http_blob_part_t));

        rc = ngx_http_blob_block_hex_decode(ctx->task_pool, p, sp - p,
                                            &part->id);
        if (rc == NGX_ERROR) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return NGX_ERROR;
        }

        if (rc != NGX_OK || size == NGX_ERROR
            || size > NGX_HTTP_BLOB_MAX_PUT_BLOCK)
        {
            goto invalid;
        }

        part->size = size;
        part->offset = offset;
        part->committed = 1;

        offset += size;
        p = nl + 1;
    }

    if (offset != fi->st_size) {
        goto invalid;
    }

    op->committed = list;

    return NGX_OK;

invalid:

    list->nelts = 0;
    op->committed = list;

    return NGX_OK;
}


/* the b-* files: only whether there are any, or all of them with sizes */

static ngx_int_t
ngx_http_blob_block_scan(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_block_op_t *op, ngx_uint_t collect)
{
    u_char                *path, *p;
    DIR                   *dir;
    size_t                 len;
    ngx_int_t              rc;
    ngx_str_t              id;
    struct dirent         *de;
    ngx_file_info_t        fi;
    ngx_http_blob_part_t  *part;

    op->blocks = 0;

    op->uncommitted = ngx_array_create(ctx->task_pool, 16,
                                       sizeof(ngx_http_blob_part_t));
    path = ngx_pnalloc(ctx->task_pool, ctx->state_path.len + 1 + NAME_MAX
                                       + 1);
    if (op->uncommitted == NULL || path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    dir = opendir((char *) ctx->state_path.data);
    if (dir == NULL) {
        return NGX_OK;
    }

    p = ngx_cpymem(path, ctx->state_path.data, ctx->state_path.len);
    *p++ = '/';

    while ((de = readdir(dir)) != NULL) {
        len = ngx_strlen(de->d_name);

        if (len <= 2 || de->d_name[0] != 'b' || de->d_name[1] != '-') {
            continue;
        }

        rc = ngx_http_blob_block_hex_decode(ctx->task_pool,
                                            (u_char *) de->d_name + 2,
                                            len - 2, &id);
        if (rc == NGX_ERROR) {
            closedir(dir);
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return NGX_ERROR;
        }

        if (rc != NGX_OK) {
            continue;
        }

        ngx_cpystrn(p, (u_char *) de->d_name, len + 1);

        /* a commit may take it between readdir() and stat() */

        if (stat((char *) path, &fi) == -1 || !S_ISREG(fi.st_mode)) {
            continue;
        }

        op->blocks = 1;

        if (!collect) {
            break;
        }

        part = ngx_array_push(op->uncommitted);
        if (part == NULL) {
            closedir(dir);
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            return NGX_ERROR;
        }

        ngx_memzero(part, sizeof(ngx_http_blob_part_t));
        part->id = id;
        part->size = fi.st_size;
        part->mtime_ns = (uint64_t) fi.st_mtim.tv_sec * 1000000000
                         + fi.st_mtim.tv_nsec;
    }

    closedir(dir);

    /* in the order they were uploaded, as Azure lists them */

    if (op->uncommitted->nelts > 1) {
        ngx_qsort(op->uncommitted->elts, op->uncommitted->nelts,
                  sizeof(ngx_http_blob_part_t), ngx_http_blob_block_cmp_time);
    }

    return NGX_OK;
}


static void
ngx_http_blob_get_block_list_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx)
{
    ngx_str_t                  etag, length;
    ngx_http_blob_xml_t        x;
    ngx_http_blob_block_op_t  *op;

    op = ctx->op_data;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    if (!op->exists && !op->blocks) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                         NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND,
                                         NULL));
        return;
    }

    r->disable_not_modified = 1;

    length.data = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
    if (length.data == NULL) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                         NGX_HTTP_BLOB_ERR_INTERNAL_ERROR,
                                         NULL));
        return;
    }

    length.len = ngx_sprintf(length.data, "%O", op->size) - length.data;

    if (ngx_http_blob_header_out(r, "x-ms-blob-content-length", &length)
        != NGX_OK)
    {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                         NGX_HTTP_BLOB_ERR_INTERNAL_ERROR,
                                         NULL));
        return;
    }

    /* a blob of uncommitted blocks only has no version yet */

    if (op->exists) {
        if (ngx_http_blob_etag_format(r->pool, op->etag, 1, &etag) != NGX_OK
            || ngx_http_blob_header_out(r, "ETag", &etag) != NGX_OK
            || ngx_http_blob_header_out_time(r, "Last-Modified", op->mtime)
               != NGX_OK)
        {
            ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                         NGX_HTTP_BLOB_ERR_INTERNAL_ERROR,
                                         NULL));
            return;
        }
    }

    if (ngx_http_blob_xml_init(&x, r->pool) != NGX_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r,
                                         NGX_HTTP_BLOB_ERR_INTERNAL_ERROR,
                                         NULL));
        return;
    }

    ngx_http_blob_xml_open(&x, "BlockList");

    if (op->lists & NGX_HTTP_BLOB_BLOCKS_COMMITTED) {
        ngx_http_blob_block_xml_list(&x, "CommittedBlocks",
                                     op->exists ? op->committed : NULL,
                                     r->pool);
    }

    if (op->lists & NGX_HTTP_BLOB_BLOCKS_UNCOMMITTED) {
        ngx_http_blob_block_xml_list(&x, "UncommittedBlocks",
                                     op->uncommitted, r->pool);
    }

    ngx_http_blob_xml_close(&x, "BlockList");

    ngx_http_blob_finalize(r, ngx_http_blob_xml_send(r, ctx, NGX_HTTP_OK, &x));
}


static void
ngx_http_blob_block_xml_list(ngx_http_blob_xml_t *x, char *name,
    ngx_array_t *parts, ngx_pool_t *pool)
{
    u_char                buf[ngx_base64_encoded_length(
                                              NGX_HTTP_BLOB_MAX_BLOCK_ID)];
    ngx_str_t             b64;
    ngx_uint_t            i;
    ngx_http_blob_part_t  *part;

    ngx_http_blob_xml_open(x, name);

    if (parts) {
        part = parts->elts;

        for (i = 0; i < parts->nelts; i++) {
            b64.data = buf;
            ngx_encode_base64(&b64, &part[i].id);

            ngx_http_blob_xml_open(x, "Block");
            ngx_http_blob_xml_element(x, "Name", &b64);
            ngx_http_blob_xml_element_off(x, "Size", part[i].size);
            ngx_http_blob_xml_close(x, "Block");
        }
    }

    ngx_http_blob_xml_close(x, name);
}


static int ngx_libc_cdecl
ngx_http_blob_block_cmp_id(const void *one, const void *two)
{
    ngx_http_blob_part_t  *a, *b;
    int                    rc;

    a = *(ngx_http_blob_part_t **) one;
    b = *(ngx_http_blob_part_t **) two;

    rc = ngx_memcmp(a->id.data, b->id.data, ngx_min(a->id.len, b->id.len));

    if (rc != 0) {
        return rc;
    }

    return (a->id.len > b->id.len) - (a->id.len < b->id.len);
}


static int ngx_libc_cdecl
ngx_http_blob_block_cmp_time(const void *one, const void *two)
{
    ngx_http_blob_part_t  *a, *b;
    int                    rc;

    a = (ngx_http_blob_part_t *) one;
    b = (ngx_http_blob_part_t *) two;

    if (a->mtime_ns != b->mtime_ns) {
        return (a->mtime_ns > b->mtime_ns) ? 1 : -1;
    }

    rc = ngx_memcmp(a->id.data, b->id.data, ngx_min(a->id.len, b->id.len));

    if (rc != 0) {
        return rc;
    }

    return (a->id.len > b->id.len) - (a->id.len < b->id.len);
}

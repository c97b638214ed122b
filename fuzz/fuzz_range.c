
/*
 * Target "range": Range and x-ms-range.
 *
 * The whole input goes to ngx_http_blob_range_parse().  Then the input,
 * minus its first byte, becomes the value of a header of a Get Blob request
 * that ngx_http_blob_get_blob() reads up to its thread task; the first
 * byte picks the header (bit 0: Range, else x-ms-range) and whether
 * x-ms-range-get-content-md5: true comes too (bit 1), which makes the
 * handler compute the range's length.
 *
 * Checks beyond the sanitizers: an accepted range is present and ordered
 * (start <= end unless open or a suffix), nothing negative; a declined one
 * is not present.
 */


#include "fuzz_common.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void ngx_http_blob_fuzz_range_check(ngx_str_t *value);
static void ngx_http_blob_fuzz_get_blob(ngx_pool_t *pool, const uint8_t *data,
    size_t size);


static ngx_http_blob_op_t  ngx_http_blob_fuzz_get_op = {
    ngx_string("GetBlob"), NGX_HTTP_GET, NGX_HTTP_BLOB_LEVEL_BLOB,
    ngx_null_string, ngx_null_string, NGX_HTTP_BLOB_PERM_READ, 0, 1, 0,
    ngx_http_blob_get_blob
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_blob_fuzz_init();

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_str_t    value;
    ngx_pool_t  *pool;

    pool = ngx_http_blob_fuzz_pool();

    /* an allocation of exactly the input: a read past it is a report */

    value.len = size;
    value.data = ngx_pnalloc(pool, size ? size : 1);

    if (value.data != NULL) {
        ngx_memcpy(value.data, data, size);
        ngx_http_blob_fuzz_range_check(&value);
    }

    if (size > 0) {
        ngx_http_blob_fuzz_get_blob(pool, data, size);
    }

    ngx_http_blob_fuzz_done(pool);

    return 0;
}


static void
ngx_http_blob_fuzz_range_check(ngx_str_t *value)
{
    ngx_int_t              rc;
    ngx_http_blob_range_t  range;

    rc = ngx_http_blob_range_parse(value, &range);

    ngx_http_blob_fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED
                              || rc == NGX_ERROR);

    if (rc != NGX_OK) {
        ngx_http_blob_fuzz_assert(!range.present);
        return;
    }

    ngx_http_blob_fuzz_assert(range.present);
    ngx_http_blob_fuzz_assert(range.start >= 0 && range.end >= 0);

    if (range.suffix) {
        ngx_http_blob_fuzz_assert(range.start == 0 && !range.open_end);

    } else if (!range.open_end) {
        ngx_http_blob_fuzz_assert(range.start <= range.end);
    }
}


static void
ngx_http_blob_fuzz_get_blob(ngx_pool_t *pool, const uint8_t *data,
    size_t size)
{
    u_char               *p, *head;
    size_t                len;
    ngx_int_t             rc;
    ngx_http_request_t   *r;
    ngx_http_blob_ctx_t  *ctx;

    static char  line[] = "GET /" NGX_HTTP_BLOB_FUZZ_ACCOUNT
                          "/fuzz/blob HTTP/1.1" CRLF
                          "Host: 127.0.0.1:10000" CRLF;
    static char  md5[] = "x-ms-range-get-content-md5: true" CRLF;

    len = sizeof(line) - 1 + sizeof("x-ms-range: ") - 1 + size - 1
          + sizeof(CRLF) - 1 + sizeof(md5) - 1 + sizeof(CRLF) - 1;

    head = ngx_pnalloc(pool, len);
    if (head == NULL) {
        return;
    }

    p = ngx_cpymem(head, line, sizeof(line) - 1);

    if (data[0] & 1) {
        p = ngx_cpymem(p, "Range: ", sizeof("Range: ") - 1);

    } else {
        p = ngx_cpymem(p, "x-ms-range: ", sizeof("x-ms-range: ") - 1);
    }

    p = ngx_cpymem(p, data + 1, size - 1);
    p = ngx_cpymem(p, CRLF, sizeof(CRLF) - 1);

    if (data[0] & 2) {
        p = ngx_cpymem(p, md5, sizeof(md5) - 1);
    }

    p = ngx_cpymem(p, CRLF, sizeof(CRLF) - 1);

    r = ngx_http_blob_fuzz_request(pool, head, p - head);
    if (r == NULL) {
        /* a value nginx itself refuses (CR, LF, NUL...) */
        return;
    }

    /* what ngx_http_blob_handler() has set up when the operation runs */

    ctx = ngx_pcalloc(pool, sizeof(ngx_http_blob_ctx_t));
    if (ctx == NULL) {
        return;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_blob_module);

    ctx->request = r;
    ctx->conf = &ngx_http_blob_fuzz_loc_conf;
    ctx->account = ngx_http_blob_fuzz_loc_conf.accounts->elts;
    ctx->op = &ngx_http_blob_fuzz_get_op;
    ctx->level = NGX_HTTP_BLOB_LEVEL_BLOB;
    ctx->fd = NGX_INVALID_FILE;
    ctx->authenticated = 1;
    ngx_str_set(&ctx->container, "fuzz");
    ngx_str_set(&ctx->blob, "blob");
    ngx_str_set(&ctx->version, NGX_HTTP_BLOB_VERSION_DEFAULT);
    ngx_str_set(&ctx->request_id, "00000000-0000-4000-8000-000000000000");

    if (ngx_http_blob_store_paths(r, ctx) != NGX_OK) {
        return;
    }

    rc = ngx_http_blob_get_blob(r, ctx);

    ngx_http_blob_fuzz_assert(rc == NGX_DONE || rc == NGX_OK
                              || rc == NGX_ERROR
                              || (rc >= NGX_HTTP_OK && rc < 600));

    if (rc == NGX_DONE) {
        /* the read task was posted with a range the handler accepted */
        ngx_http_blob_fuzz_assert(ngx_http_blob_fuzz_task != NULL);
    }
}

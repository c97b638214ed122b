
/*
 * Target "dispatch": a request head through the module's content handler,
 * ngx_http_blob_handler(): URL (path and virtual-host style), account,
 * percent-decoding, container and blob name validation, the operation
 * table, the filesystem paths, and then the operation's own handler up to
 * its first thread task (headers, query parameters, block ids, metadata,
 * list options...).
 *
 * Authorization runs, and its answer is then overridden so that the
 * operations are reached without a valid signature; targets "shared_key"
 * and "sas" fuzz authorization with its real answer.  The request header
 * "fuzz-auth: real" keeps the real answer here too.
 *
 * Checks beyond the sanitizers: a name the module accepted obeys
 * docs/LAYOUT.md (ngx_http_blob_fuzz_check_name), the blob's path is the
 * container's path plus the name, no response header carries CR/LF/NUL,
 * every request gives its in-flight slot back.  The input is also given
 * as is to ngx_http_blob_unescape() and the two name validators.
 *
 * fuzz-ldflags: -Wl,--wrap=ngx_http_blob_authorize
 */


#include "fuzz_common.h"


ngx_int_t __real_ngx_http_blob_authorize(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail);
ngx_int_t __wrap_ngx_http_blob_authorize(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void ngx_http_blob_fuzz_check_ctx(ngx_http_request_t *r);
static void ngx_http_blob_fuzz_raw(ngx_pool_t *pool, const uint8_t *data,
    size_t size);


ngx_int_t
__wrap_ngx_http_blob_authorize(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail)
{
    ngx_int_t  rc;
    ngx_str_t  value;

    rc = __real_ngx_http_blob_authorize(r, ctx, detail);

    if (ngx_http_blob_header_in_value(r, "fuzz-auth", &value) == NGX_OK) {
        return rc;
    }

    ngx_memzero(detail, sizeof(ngx_http_blob_error_detail_t));
    ctx->error = NGX_HTTP_BLOB_OK;
    ctx->authenticated = 1;

    return NGX_OK;
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_blob_fuzz_init();

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_int_t            rc;
    ngx_pool_t          *pool;
    ngx_http_request_t  *r;

    pool = ngx_http_blob_fuzz_pool();

    r = ngx_http_blob_fuzz_request(pool, data, size);

    if (r != NULL) {
        rc = ngx_http_blob_fuzz_handle(r);

        ngx_http_blob_fuzz_check_ctx(r);

        ngx_http_finalize_request(r, rc);
    }

    ngx_http_blob_fuzz_raw(pool, data, size);

    ngx_http_blob_fuzz_done(pool);

    return 0;
}


static void
ngx_http_blob_fuzz_check_ctx(ngx_http_request_t *r)
{
    size_t                len;
    ngx_http_blob_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_blob_module);

    if (ctx == NULL || ctx->op == NULL) {
        /* refused before an operation was found */
        return;
    }

    ngx_http_blob_fuzz_assert(ctx->account != NULL);
    ngx_http_blob_fuzz_assert(ctx->op->level == ctx->level
                              || ctx->op->any_level);

    if (ctx->level == NGX_HTTP_BLOB_LEVEL_SERVICE) {
        ngx_http_blob_fuzz_assert(ctx->container.len == 0);
        ngx_http_blob_fuzz_assert(ctx->blob.len == 0);
        return;
    }

    ngx_http_blob_fuzz_check_name(&ctx->container, 1);

    if (ctx->level == NGX_HTTP_BLOB_LEVEL_CONTAINER) {
        ngx_http_blob_fuzz_assert(ctx->blob.len == 0);
        return;
    }

    ngx_http_blob_fuzz_check_name(&ctx->blob, 0);

    if (ctx->blob_path.data == NULL) {
        /* ngx_http_blob_store_paths() failed: the handler said 500 */
        return;
    }

    /* ROOT "/" container "/" blob, and nothing else */

    len = sizeof(NGX_HTTP_BLOB_FUZZ_ROOT) - 1;

    ngx_http_blob_fuzz_assert(ctx->blob_path.len
                              == len + 1 + ctx->container.len + 1
                                 + ctx->blob.len);
    ngx_http_blob_fuzz_assert(ngx_strncmp(ctx->blob_path.data,
                                          NGX_HTTP_BLOB_FUZZ_ROOT "/",
                                          len + 1) == 0);
    ngx_http_blob_fuzz_assert(ngx_memcmp(ctx->blob_path.data + len + 1,
                                         ctx->container.data,
                                         ctx->container.len) == 0);
    ngx_http_blob_fuzz_assert(ngx_memcmp(ctx->blob_path.data + len + 1
                                         + ctx->container.len + 1,
                                         ctx->blob.data, ctx->blob.len)
                              == 0);
    ngx_http_blob_fuzz_assert(ctx->blob_path.data[ctx->blob_path.len]
                              == '\0');
}


static void
ngx_http_blob_fuzz_raw(ngx_pool_t *pool, const uint8_t *data, size_t size)
{
    size_t      i;
    ngx_str_t   raw, out;
    ngx_uint_t  plus;

    raw.data = ngx_pnalloc(pool, size ? size : 1);
    if (raw.data == NULL) {
        return;
    }

    ngx_memcpy(raw.data, data, size);
    raw.len = size;

    for (plus = 0; plus < 2; plus++) {
        if (ngx_http_blob_unescape(pool, &raw, &out, plus) != NGX_OK) {
            continue;
        }

        ngx_http_blob_fuzz_assert(out.len <= raw.len);

        for (i = 0; i < out.len; i++) {
            ngx_http_blob_fuzz_assert(out.data[i] != '\0'
                                      || ngx_strlchr(raw.data,
                                                     raw.data + raw.len,
                                                     '\0') != NULL);
        }
    }

    if (ngx_http_blob_container_name_valid(&raw)) {
        ngx_http_blob_fuzz_check_name(&raw, 1);
    }

    if (ngx_http_blob_blob_name_valid(&raw)) {
        ngx_http_blob_fuzz_check_name(&raw, 0);
    }
}

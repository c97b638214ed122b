
/*
 * Target "shared_key": Shared Key and Shared Key Lite authorization.
 *
 * The request head goes through ngx_http_blob_handler() with the real
 * authorization (the seeds are requests t/lib/azsign.py signed with the
 * development key, so the fuzzer starts on the accepting path), and then
 * the canonicalization steps of ngx_http_blob_auth_shared_key.c are called
 * directly, in both the Shared Key and the Lite form, so that a request
 * refused early (claimed account, date) still has its string-to-sign
 * built.
 */


#include "fuzz_common.h"

#include "ngx_http_blob_auth_shared_key.c"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


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
    ngx_str_t            prefix, folded, raw, query;
    ngx_uint_t           lite;
    ngx_pool_t          *pool;
    ngx_http_request_t  *r;

    pool = ngx_http_blob_fuzz_pool();

    r = ngx_http_blob_fuzz_request(pool, data, size);

    if (r != NULL) {
        rc = ngx_http_blob_fuzz_handle(r);

        ngx_http_finalize_request(r, rc);

        for (lite = 0; lite < 2; lite++) {
            if (ngx_http_blob_sk_prefix(r, lite, &prefix) == NGX_OK) {
                /* the verb and 11 (Lite: 3) lines */
                ngx_http_blob_fuzz_assert(prefix.len
                                          >= r->method_name.len
                                             + (lite ? 4 : 12));
            }

            rc = ngx_http_blob_sk_query(r, lite, &query);
            ngx_http_blob_fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED);
        }

        if (ngx_http_blob_sk_headers(r, &folded, &raw) == NGX_OK) {
            ngx_http_blob_fuzz_assert(folded.len <= raw.len);
        }
    }

    ngx_http_blob_fuzz_done(pool);

    return 0;
}

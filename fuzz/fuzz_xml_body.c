
/*
 * Target "xml_body": the two other XML request bodies, read with libxml2's
 * tree parser: Set Container ACL (ngx_http_blob_container_acl_parse(), on
 * the event loop) and Set Blob Service Properties
 * (ngx_http_blob_service_merge(), which parses the request and the stored
 * document and writes their merge).
 *
 * The first byte of the input is the harness's: bit 0 clear is an ACL,
 * set is service properties.  The rest is the body.
 *
 * Checks beyond the sanitizers, and the time limit, which catches an
 * entity expansion: what the module stores is a fixed point, i.e. the
 * canonical ACL it writes reads back to itself, and the merged service
 * properties merged again with the defaults come out unchanged, so that
 * what was accepted once is never refused or changed on the next read.
 */


#include "fuzz_common.h"

#include "ngx_http_blob_container.c"
#include "ngx_http_blob_service.c"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void ngx_http_blob_fuzz_acl(ngx_http_request_t *r, ngx_str_t *body);
static void ngx_http_blob_fuzz_service(ngx_http_request_t *r,
    ngx_str_t *body);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_blob_fuzz_init();

    xmlInitParser();

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_str_t            body;
    ngx_pool_t          *pool;
    ngx_http_request_t  *r;

    static u_char  head[] = "PUT /" NGX_HTTP_BLOB_FUZZ_ACCOUNT
                            "/fuzz?restype=container&comp=acl HTTP/1.1"
                            CRLF "Host: 127.0.0.1" CRLF CRLF;

    if (size == 0) {
        return 0;
    }

    pool = ngx_http_blob_fuzz_pool();

    r = ngx_http_blob_fuzz_request(pool, head, sizeof(head) - 1);
    ngx_http_blob_fuzz_assert(r != NULL);

    /* an allocation of exactly the body: a read past it is a report */

    body.len = size - 1;
    body.data = ngx_pnalloc(pool, size);
    ngx_http_blob_fuzz_assert(body.data != NULL);
    ngx_memcpy(body.data, data + 1, size - 1);

    if (data[0] & 1) {
        ngx_http_blob_fuzz_service(r, &body);

    } else {
        ngx_http_blob_fuzz_acl(r, &body);
    }

    ngx_http_blob_fuzz_done(pool);

    return 0;
}


static void
ngx_http_blob_fuzz_acl(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_str_t                     acl, again;
    ngx_http_blob_error_e         rc;
    ngx_http_blob_error_detail_t  detail;

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));
    ngx_str_null(&acl);

    rc = ngx_http_blob_container_acl_parse(r, body, &acl, &detail);

    ngx_http_blob_fuzz_assert(rc != NGX_HTTP_BLOB_ERR_INTERNAL_ERROR);

    if (rc != NGX_HTTP_BLOB_OK) {
        return;
    }

    ngx_str_null(&again);

    rc = ngx_http_blob_container_acl_parse(r, &acl, &again, &detail);

    ngx_http_blob_fuzz_assert(rc == NGX_HTTP_BLOB_OK);
    ngx_http_blob_fuzz_assert(again.len == acl.len
                              && ngx_memcmp(again.data, acl.data, acl.len)
                                 == 0);
}


static void
ngx_http_blob_fuzz_service(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_http_blob_error_e          rc;
    ngx_http_blob_service_props_t  sp, again;

    ngx_memzero(&sp, sizeof(ngx_http_blob_service_props_t));
    sp.body = *body;

    rc = ngx_http_blob_service_merge(r, &sp);

    ngx_http_blob_fuzz_assert(rc != NGX_HTTP_BLOB_ERR_INTERNAL_ERROR);

    if (rc != NGX_HTTP_BLOB_OK) {
        return;
    }

    /* what Get Blob Service Properties will read back */

    ngx_memzero(&again, sizeof(ngx_http_blob_service_props_t));
    again.body = sp.merged;

    rc = ngx_http_blob_service_merge(r, &again);

    ngx_http_blob_fuzz_assert(rc == NGX_HTTP_BLOB_OK);
    ngx_http_blob_fuzz_assert(again.merged.len == sp.merged.len
                              && ngx_memcmp(again.merged.data,
                                            sp.merged.data, sp.merged.len)
                                 == 0);

    /* and a later request merged onto the stored document */

    ngx_memzero(&again, sizeof(ngx_http_blob_service_props_t));
    again.body = *body;
    again.stored = sp.merged;

    rc = ngx_http_blob_service_merge(r, &again);

    ngx_http_blob_fuzz_assert(rc == NGX_HTTP_BLOB_OK);
    ngx_http_blob_fuzz_assert(again.merged.len == sp.merged.len
                              && ngx_memcmp(again.merged.data,
                                            sp.merged.data, sp.merged.len)
                                 == 0);
}


/*
 * Target "sas": shared access signatures in the query string.
 *
 * The request goes through ngx_http_blob_handler() with the real
 * authorization (the seeds carry account and service SAS tokens of several
 * signed versions, signed with the development key, valid at the harness's
 * default clock), and then the token's field parsers are called directly on
 * the values the query carries: the ISO 8601 times, checked against
 * timegm(3); the IP range; the version; the permissions.
 */


#include "fuzz_common.h"

#include "ngx_http_blob_auth_sas.c"

#include <time.h>


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void ngx_http_blob_fuzz_sas_time(ngx_str_t *value);


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
    ngx_str_t            value;
    in_addr_t            from, to;
    ngx_pool_t          *pool;
    ngx_http_request_t  *r;

    pool = ngx_http_blob_fuzz_pool();

    r = ngx_http_blob_fuzz_request(pool, data, size);

    if (r != NULL) {
        rc = ngx_http_blob_fuzz_handle(r);

        ngx_http_finalize_request(r, rc);

        if (ngx_http_blob_arg_decoded(r, "st", &value) == NGX_OK) {
            ngx_http_blob_fuzz_sas_time(&value);
        }

        if (ngx_http_blob_arg_decoded(r, "se", &value) == NGX_OK) {
            ngx_http_blob_fuzz_sas_time(&value);
        }

        if (ngx_http_blob_arg_decoded(r, "sip", &value) == NGX_OK
            && ngx_http_blob_sas_parse_ip(&value, &from, &to) == NGX_OK)
        {
            ngx_http_blob_fuzz_assert(from <= to);
        }

        if (ngx_http_blob_arg_decoded(r, "sv", &value) == NGX_OK
            && ngx_http_blob_sas_version_valid(&value) == NGX_OK)
        {
            ngx_http_blob_fuzz_assert(value.len == 10);
            (void) ngx_http_blob_sas_version_cmp(&value, "2020-12-06");
        }

        if (ngx_http_blob_arg_decoded(r, "sp", &value) == NGX_OK) {
            ngx_http_blob_fuzz_assert(ngx_http_blob_sas_permissions(&value)
                                      <= 0x3f);
        }
    }

    ngx_http_blob_fuzz_done(pool);

    return 0;
}


/* a time the module accepts is the one the C library computes */

static void
ngx_http_blob_fuzz_sas_time(ngx_str_t *value)
{
    time_t     t;
    struct tm  tm;

    t = ngx_http_blob_sas_parse_time(value);

    if (t == (time_t) NGX_ERROR) {
        return;
    }

    ngx_memzero(&tm, sizeof(struct tm));

    tm.tm_year = ngx_atoi(value->data, 4) - 1900;
    tm.tm_mon = ngx_atoi(value->data + 5, 2) - 1;
    tm.tm_mday = ngx_atoi(value->data + 8, 2);

    if (value->len > 10) {
        tm.tm_hour = ngx_atoi(value->data + 11, 2);
        tm.tm_min = ngx_atoi(value->data + 14, 2);

        if (value->len > 17 && value->data[16] == ':') {
            tm.tm_sec = ngx_atoi(value->data + 17, 2);
        }
    }

    ngx_http_blob_fuzz_assert(t == timegm(&tm));
}

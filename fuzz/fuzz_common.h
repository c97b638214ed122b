
/*
 * ngx_blob_module fuzzing: what every target shares (fuzz_common.c).
 *
 * The targets call the module's own functions on a request that nginx's
 * own parser built from the input, so that they see only what a real
 * request can carry: header values without CR, LF or NUL, a request line
 * nginx accepts, lowercase header names with their hash.
 */


#ifndef _NGX_HTTP_BLOB_FUZZ_H_INCLUDED_
#define _NGX_HTTP_BLOB_FUZZ_H_INCLUDED_


#include "ngx_http_blob_module.h"

#include <stdint.h>


#define NGX_HTTP_BLOB_FUZZ_ACCOUNT  "devstoreaccount1"
#define NGX_HTTP_BLOB_FUZZ_KEY                                                \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZF"    \
    "PTOtr/KBHBeksoGMGw=="
#define NGX_HTTP_BLOB_FUZZ_ROOT     "/nonexistent/fuzz-root"

/* 2024-06-01T00:00:00Z: the SAS seeds are valid then */
#define NGX_HTTP_BLOB_FUZZ_TIME     1717200000


/* abort() with a message: the fuzzer reports it as a crash */
#define ngx_http_blob_fuzz_assert(expr)                                       \
    if (!(expr)) {                                                            \
        ngx_http_blob_fuzz_fail(__FILE__, __LINE__, #expr);                   \
    }


extern ngx_log_t                   ngx_http_blob_fuzz_log;
extern ngx_http_blob_loc_conf_t    ngx_http_blob_fuzz_loc_conf;
extern ngx_http_blob_main_conf_t   ngx_http_blob_fuzz_main_conf;
extern ngx_thread_task_t          *ngx_http_blob_fuzz_task;


void ngx_http_blob_fuzz_init(void);
ngx_pool_t *ngx_http_blob_fuzz_pool(void);
ngx_http_request_t *ngx_http_blob_fuzz_request(ngx_pool_t *pool,
    const uint8_t *data, size_t size);
void ngx_http_blob_fuzz_set_time(time_t sec);
void ngx_http_blob_fuzz_clock(ngx_http_request_t *r);
ngx_int_t ngx_http_blob_fuzz_handle(ngx_http_request_t *r);
void ngx_http_blob_fuzz_done(ngx_pool_t *pool);
void ngx_http_blob_fuzz_check_headers_out(ngx_http_request_t *r);
void ngx_http_blob_fuzz_check_name(ngx_str_t *name, ngx_uint_t container);
void ngx_http_blob_fuzz_fail(const char *file, int line, const char *expr);


#endif /* _NGX_HTTP_BLOB_FUZZ_H_INCLUDED_ */

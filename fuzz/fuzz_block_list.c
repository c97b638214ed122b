
/*
 * Target "block_list": the Put Block List body reader,
 * ngx_http_blob_xml_read_block_list(), on a file holding the input.
 *
 * The first byte of the input is the harness's: 0 reads the body in the
 * reader's own 64 KiB chunks, n > 0 makes every read(2) return at most n
 * bytes, so that the push parser meets element, text, entity and UTF-8
 * boundaries anywhere (read() is wrapped at link time).  0xff also lowers
 * the block limit to 2.  The rest is the XML document.
 *
 * Checks beyond the sanitizers: an accepted list holds at most the limit,
 * every id decodes to 1..64 bytes, every list is Latest, Committed or
 * Uncommitted.
 *
 * fuzz-ldflags: -Wl,--wrap=read
 */


#include "fuzz_common.h"

#include <sys/mman.h>


ssize_t __real_read(int fd, void *buf, size_t count);
ssize_t __wrap_read(int fd, void *buf, size_t count);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int     ngx_http_blob_fuzz_fd = -1;
static size_t  ngx_http_blob_fuzz_chunk;


ssize_t
__wrap_read(int fd, void *buf, size_t count)
{
    if (fd == ngx_http_blob_fuzz_fd && ngx_http_blob_fuzz_chunk
        && count > ngx_http_blob_fuzz_chunk)
    {
        count = ngx_http_blob_fuzz_chunk;
    }

    return __real_read(fd, buf, count);
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_blob_fuzz_init();

    ngx_http_blob_fuzz_fd = memfd_create("blocklist", 0);
    if (ngx_http_blob_fuzz_fd == -1) {
        ngx_http_blob_fuzz_fail(__FILE__, __LINE__, "memfd_create");
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_err_t                   err;
    ngx_uint_t                  i, max;
    ngx_pool_t                 *pool;
    ngx_array_t                *refs;
    ngx_http_blob_error_e       rc;
    ngx_http_blob_block_ref_t  *ref;

    if (size == 0) {
        return 0;
    }

    pool = ngx_http_blob_fuzz_pool();

    if (ftruncate(ngx_http_blob_fuzz_fd, 0) == -1
        || pwrite(ngx_http_blob_fuzz_fd, data + 1, size - 1, 0)
           != (ssize_t) (size - 1)
        || lseek(ngx_http_blob_fuzz_fd, 0, SEEK_SET) != 0)
    {
        ngx_http_blob_fuzz_fail(__FILE__, __LINE__, "memfd write");
    }

    max = (data[0] == 0xff) ? 2 : NGX_HTTP_BLOB_MAX_BLOCKS;

    refs = ngx_array_create(pool, 16, sizeof(ngx_http_blob_block_ref_t));
    if (refs == NULL) {
        ngx_http_blob_fuzz_fail(__FILE__, __LINE__, "ngx_array_create");
    }

    ngx_http_blob_fuzz_chunk = data[0];

    rc = ngx_http_blob_xml_read_block_list(pool, ngx_http_blob_fuzz_fd, refs,
                                           max, &err);

    ngx_http_blob_fuzz_chunk = 0;

    ngx_http_blob_fuzz_assert(rc != NGX_HTTP_BLOB_ERR_INTERNAL_ERROR);

    if (rc == NGX_HTTP_BLOB_OK) {
        ngx_http_blob_fuzz_assert(refs->nelts <= max);

        ref = refs->elts;

        for (i = 0; i < refs->nelts; i++) {
            ngx_http_blob_fuzz_assert(ref[i].id.len >= 1);
            ngx_http_blob_fuzz_assert(ref[i].id.len
                                      <= NGX_HTTP_BLOB_MAX_BLOCK_ID);
            ngx_http_blob_fuzz_assert(ref[i].list
                                      <= NGX_HTTP_BLOB_BLOCK_UNCOMMITTED);
        }
    }

    ngx_http_blob_fuzz_done(pool);

    return 0;
}

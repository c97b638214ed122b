
/*
 * ngx_blob_module fuzzing: stand-ins for the parts of nginx a target links
 * against but does not exercise (the HTTP core's response and body
 * machinery, the thread pool, the cycle, the module's own config tables).
 *
 * The stand-ins that a request may reach behave like nginx on a client
 * whose body has not arrived yet; those it must never reach abort.  The
 * response stand-ins check what the module hands to nginx: no header may
 * carry CR, LF or NUL, every buffer must be readable end to end.
 */


#include "fuzz_common.h"

#include <stdio.h>


volatile ngx_cycle_t  *ngx_cycle;
ngx_pid_t              ngx_pid;


/* ngx_http_blob_module.c is not linked: its config handlers need a cycle */

static ngx_http_module_t  ngx_http_blob_fuzz_module_ctx;

ngx_module_t  ngx_http_blob_module = {
    NGX_MODULE_V1,
    &ngx_http_blob_fuzz_module_ctx,
    NULL,
    NGX_HTTP_MODULE,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};


/* the per-process init code finds its configuration through this one */

ngx_module_t  ngx_http_module;


static void
ngx_http_blob_fuzz_unreachable(const char *name)
{
    fprintf(stderr, "\nfuzz: stub %s() reached\n", name);
    abort();
}


/* every message is formatted, so a bad format argument shows up; none is
 * printed unless FUZZ_LOG is set */

void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    u_char   *p, *last;
    u_char    errstr[NGX_MAX_ERROR_STR];
    va_list   args;

    static ngx_int_t  print = -1;

    if (print == -1) {
        print = (getenv("FUZZ_LOG") != NULL);
    }

    last = errstr + NGX_MAX_ERROR_STR;

    va_start(args, fmt);
    p = ngx_vslprintf(errstr, last, fmt, args);
    va_end(args);

    if (err) {
        p = ngx_slprintf(p, last, " (%d)", err);
    }

    if (print) {
        fprintf(stderr, "[%d] %.*s\n", (int) level, (int) (p - errstr),
                errstr);
    }
}


void ngx_cdecl
ngx_log_stderr(ngx_err_t err, const char *fmt, ...)
{
}


/* the configuration is not parsed here: nothing to say about it */

void ngx_cdecl
ngx_conf_log_error(ngx_uint_t level, ngx_conf_t *cf, ngx_err_t err,
    const char *fmt, ...)
{
}


ngx_int_t
ngx_http_send_header(ngx_http_request_t *r)
{
    ngx_http_blob_fuzz_assert(!r->header_sent);

    ngx_http_blob_fuzz_check_headers_out(r);

    r->header_sent = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_output_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    u_char       *p;
    ngx_uint_t    sum;
    ngx_chain_t  *cl;

    sum = 0;

    for (cl = in; cl; cl = cl->next) {

        if (!ngx_buf_in_memory(cl->buf)) {
            continue;
        }

        ngx_http_blob_fuzz_assert(cl->buf->pos <= cl->buf->last);

        /* every byte the module says it wrote: unwritten memory is a report
         * under MemorySanitizer, memory freed too early under ASan */

        for (p = cl->buf->pos; p < cl->buf->last; p++) {
            sum += *p;
        }
    }

    return (sum == (ngx_uint_t) -1) ? NGX_AGAIN : NGX_OK;
}


ngx_int_t
ngx_http_send_special(ngx_http_request_t *r, ngx_uint_t flags)
{
    return NGX_OK;
}


ngx_int_t
ngx_http_discard_request_body(ngx_http_request_t *r)
{
    return NGX_OK;
}


/* ngx_http_special_response.c */

void
ngx_http_clean_header(ngx_http_request_t *r)
{
    ngx_memzero(&r->headers_out.status,
                sizeof(ngx_http_headers_out_t)
                    - offsetof(ngx_http_headers_out_t, status));

    r->headers_out.headers.part.nelts = 0;
    r->headers_out.headers.part.next = NULL;
    r->headers_out.headers.last = &r->headers_out.headers.part;

    r->headers_out.trailers.part.nelts = 0;
    r->headers_out.trailers.part.next = NULL;
    r->headers_out.trailers.last = &r->headers_out.trailers.part;

    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;
}


void
ngx_http_finalize_request(ngx_http_request_t *r, ngx_int_t rc)
{
}


/* the body has not arrived yet: the post handler is never called */

ngx_int_t
ngx_http_read_client_request_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt post_handler)
{
    return NGX_OK;
}


ngx_int_t
ngx_http_read_unbuffered_request_body(ngx_http_request_t *r)
{
    ngx_http_blob_fuzz_unreachable("ngx_http_read_unbuffered_request_body");
    return NGX_ERROR;
}


void
ngx_http_block_reading(ngx_http_request_t *r)
{
}


void
ngx_http_run_posted_requests(ngx_connection_t *c)
{
}


/* ngx_thread_pool.c: a task is posted and never runs */

ngx_thread_task_t *
ngx_thread_task_alloc(ngx_pool_t *pool, size_t size)
{
    ngx_thread_task_t  *task;

    task = ngx_pcalloc(pool, sizeof(ngx_thread_task_t) + size);
    if (task == NULL) {
        return NULL;
    }

    task->ctx = task + 1;

    return task;
}


ngx_int_t
ngx_thread_task_post(ngx_thread_pool_t *tp, ngx_thread_task_t *task)
{
    ngx_http_blob_fuzz_task = task;

    return NGX_OK;
}


/* the event timers: a posted task never completes, its timer never fires */

ngx_rbtree_t  ngx_event_timer_rbtree;


/* posted events (a batch of short tasks): never run either */

ngx_queue_t  ngx_posted_events;


void
ngx_rbtree_insert(ngx_rbtree_t *tree, ngx_rbtree_node_t *node)
{
}


void
ngx_rbtree_delete(ngx_rbtree_t *tree, ngx_rbtree_node_t *node)
{
}


ngx_int_t
ngx_open_dir(ngx_str_t *name, ngx_dir_t *dir)
{
    ngx_http_blob_fuzz_unreachable("ngx_open_dir");
    return NGX_ERROR;
}


ngx_int_t
ngx_read_dir(ngx_dir_t *dir)
{
    ngx_http_blob_fuzz_unreachable("ngx_read_dir");
    return NGX_ERROR;
}

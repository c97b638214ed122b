
/*
 * ngx_blob_module: filesystem work in the thread pool.
 *
 * The data root is a network filesystem: any open(), stat() or rename() may
 * take milliseconds, so none of them runs on the event loop.  An operation
 * hands a "work" function to the pool; it makes syscalls only and leaves
 * its results and errno in the request context.  The "done" function then
 * runs on the event loop, logs, and answers, as the copy filter does for
 * aio threads.
 */


#include "ngx_http_blob_module.h"


static void ngx_http_blob_task_handler(void *data, ngx_log_t *log);
static void ngx_http_blob_task_event_handler(ngx_event_t *ev);
static void ngx_http_blob_task_wait_handler(ngx_event_t *ev);
static void ngx_http_blob_task_pool_cleanup(void *data);


/* how often a task that has not come back is reported */
#define NGX_HTTP_BLOB_TASK_WAIT  60000


typedef struct {
    ngx_http_blob_ctx_t  *ctx;
    ngx_http_request_t   *request;
    ngx_event_t           wait;
} ngx_http_blob_task_t;


ngx_int_t
ngx_http_blob_task_run(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_work_pt work, ngx_http_blob_done_pt done)
{
    ngx_thread_task_t     *task;
    ngx_http_blob_task_t  *bt;

    if (ctx->busy) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "blob: thread task already in flight");
        return NGX_ERROR;
    }

    if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_blob_task_t));
    if (task == NULL) {
        return NGX_ERROR;
    }

    bt = task->ctx;
    bt->ctx = ctx;
    bt->request = r;

    ctx->work = work;
    ctx->done = done;
    ctx->err = 0;
    ctx->failed = NULL;

    task->handler = ngx_http_blob_task_handler;
    task->event.data = bt;
    task->event.handler = ngx_http_blob_task_event_handler;

    if (ngx_thread_task_post(ctx->conf->thread_pool, task) != NGX_OK) {
        /* the queue is full: tell the client to back off, as Azure does */
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_SERVER_BUSY, NULL);
    }

    /*
     * the task holds a reference to the request: NGX_DONE, returned up to
     * ngx_http_finalize_request(), gives it back
     */

    ctx->busy = 1;
    r->main->count++;
    r->main->blocked++;
    r->aio = 1;

    /*
     * A worker that shuts down (a reload) exits as soon as no timer is
     * left, and a request waiting for its task has none: it would be cut
     * and its connection left open ("open socket left").  This timer
     * holds the worker until the task is back.
     */

    bt->wait.handler = ngx_http_blob_task_wait_handler;
    bt->wait.data = r;
    bt->wait.log = r->connection->log;
    ngx_add_timer(&bt->wait, NGX_HTTP_BLOB_TASK_WAIT);

    return NGX_DONE;
}


static void
ngx_http_blob_task_handler(void *data, ngx_log_t *log)
{
    ngx_http_blob_task_t  *bt = data;

    bt->ctx->work(bt->ctx);
}


static void
ngx_http_blob_task_event_handler(ngx_event_t *ev)
{
    ngx_uint_t             level;
    ngx_connection_t      *c;
    ngx_http_request_t    *r;
    ngx_http_blob_ctx_t   *ctx;
    ngx_http_blob_task_t  *bt;

    bt = ev->data;
    r = bt->request;
    c = r->connection;

    if (bt->wait.timer_set) {
        ngx_del_timer(&bt->wait);
    }

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;
    r->aio = 0;

    ctx = ngx_http_get_module_ctx(r, ngx_http_blob_module);
    ctx->busy = 0;

    if (ctx->failed) {
        /*
         * a full disk or a permission the operator took away must show
         * at the default error_log level, as nginx's own file errors do
         */

        switch (ctx->error) {

        case NGX_HTTP_BLOB_ERR_INTERNAL_ERROR:
            level = NGX_LOG_CRIT;
            break;

        case NGX_HTTP_BLOB_ERR_INSUFFICIENT_STORAGE:
        case NGX_HTTP_BLOB_ERR_AUTHORIZATION_FAILURE:
            level = NGX_LOG_ERR;
            break;

        default:
            level = NGX_LOG_INFO;
        }

        ngx_log_error(level, c->log, ctx->err, "blob: %s failed",
                      ctx->failed);
    }

    if (r->done || c->error) {
        /* the client went away while the task ran */
        ngx_http_finalize_request(r, NGX_ERROR);
        ngx_http_run_posted_requests(c);
        return;
    }

    ctx->done(r, ctx);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_blob_task_wait_handler(ngx_event_t *ev)
{
    /* a hung mount shows in the log, not only as a client's timeout */

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "blob: filesystem operation still running after a minute");

    ngx_add_timer(ev, NGX_HTTP_BLOB_TASK_WAIT);
}


/*
 * A thread may not allocate from r->pool while the event loop owns it; a
 * task gets a private pool instead, destroyed with the request.
 */

ngx_int_t
ngx_http_blob_task_pool(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_pool_cleanup_t  *cln;

    if (ctx->task_pool) {
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ctx->task_pool = ngx_create_pool(4096, r->connection->log);
    if (ctx->task_pool == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_blob_task_pool_cleanup;
    cln->data = ctx->task_pool;

    return NGX_OK;
}


static void
ngx_http_blob_task_pool_cleanup(void *data)
{
    ngx_destroy_pool(data);
}


/*
 * Every "done" handler ends here, with the result of ngx_http_blob_error(),
 * of the output filter, or NGX_DONE when it posted another task (whose
 * reference NGX_DONE then releases).
 */

void
ngx_http_blob_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);
}

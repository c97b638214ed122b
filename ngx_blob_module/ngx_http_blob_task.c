
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


static ngx_http_blob_task_t *ngx_http_blob_task_prepare(
    ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_work_pt work, ngx_http_blob_done_pt done);
static void ngx_http_blob_task_hold(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_task_t *bt);
static void ngx_http_blob_task_release(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_task_t *bt);
static void ngx_http_blob_task_flush(ngx_event_t *ev);
static ngx_thread_task_t *ngx_http_blob_task_batch(ngx_pool_t *pool,
    ngx_uint_t n);
static void ngx_http_blob_task_handler(void *data, ngx_log_t *log);
static void ngx_http_blob_task_event_handler(ngx_event_t *ev);
static void ngx_http_blob_task_complete(ngx_http_blob_task_t *bt);
static void ngx_http_blob_task_wait_handler(ngx_event_t *ev);
static void ngx_http_blob_task_pool_cleanup(void *data);


/* how often a task that has not come back is reported */
#define NGX_HTTP_BLOB_TASK_WAIT  60000


struct ngx_http_blob_task_s {
    ngx_http_blob_ctx_t  *ctx;
    ngx_http_request_t   *request;
    ngx_event_t           wait;
    ngx_queue_t           queue;        /* in bmcf->task_pending */
};


/* what one thread task runs: the work of one request or of several */

typedef struct {
    ngx_uint_t                  n;
    ngx_int_t                   usec;       /* the thread's time for all n */
    ngx_http_blob_main_conf_t  *bmcf;
    ngx_http_blob_task_t       *task[1];
} ngx_http_blob_batch_t;


/*
 * A batch runs its tasks one after the other, so each may wait for the
 * ones before it.  On a local disk or a warm cache opening a blob takes
 * microseconds and a batch of 16 costs nobody anything; on a network
 * filesystem it takes round trips, and the tasks must spread over the
 * pool's threads.  So a batch holds no more tasks than fit in this budget
 * at the mean time a short task has been taking...
 */
#define NGX_HTTP_BLOB_TASK_BATCH_USEC  100

/*
 * ...and while short tasks are that fast, the tasks that arrive while a
 * batch is in the pool wait for it to come back (or this long, if it
 * does not) and go as the next batch: the thread and the event loop then
 * hand work over in batches rather than in single tasks, which is where
 * the thread pool's cost (wake-ups, context switches) went.
 */
#define NGX_HTTP_BLOB_TASK_FAST_USEC   50
#define NGX_HTTP_BLOB_TASK_HOLD_MSEC   1


ngx_int_t
ngx_http_blob_task_init_process(ngx_cycle_t *cycle)
{
    ngx_http_blob_main_conf_t  *bmcf;

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_blob_module);
    if (bmcf == NULL) {
        return NGX_OK;
    }

    ngx_queue_init(&bmcf->task_pending);
    bmcf->task_usec = 0;
    bmcf->task_batches = 0;

    bmcf->task_flush.handler = ngx_http_blob_task_flush;
    bmcf->task_flush.data = bmcf;
    bmcf->task_flush.log = cycle->log;

    return NGX_OK;
}


ngx_int_t
ngx_http_blob_task_run(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_work_pt work, ngx_http_blob_done_pt done)
{
    ngx_thread_task_t      *task;
    ngx_http_blob_task_t   *bt;
    ngx_http_blob_batch_t  *batch;

    bt = ngx_http_blob_task_prepare(r, ctx, work, done);
    if (bt == NULL) {
        return NGX_ERROR;
    }

    task = ngx_http_blob_task_batch(r->pool, 1);
    if (task == NULL) {
        return NGX_ERROR;
    }

    batch = task->ctx;
    batch->task[0] = bt;

    /* before the post: from then on a thread may write to ctx */

    ngx_http_blob_task_hold(r, ctx, bt);

    if (ngx_thread_task_post(ctx->conf->thread_pool, task) != NGX_OK) {
        ngx_http_blob_task_release(r, ctx, bt);
        r->main->count--;

        /* the queue is full: tell the client to back off, as Azure does */
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_SERVER_BUSY, NULL);
    }

    return NGX_DONE;
}


/*
 * A task of a few syscalls costs less than waking a pool thread for it
 * and waking the event loop when it is done.  Such tasks wait for the end
 * of the current event loop iteration (a posted event), or, while they
 * are fast and a batch of them is in the pool, for that batch to come
 * back; then they go to the pool together, up to blob_task_batch per
 * thread task, run one after the other.  Under light load a batch holds
 * one task and nothing waits; under load fewer and longer thread tasks do
 * the same work with far fewer context switches.
 */

ngx_int_t
ngx_http_blob_task_run_short(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_work_pt work, ngx_http_blob_done_pt done)
{
    ngx_http_blob_task_t       *bt;
    ngx_http_blob_main_conf_t  *bmcf;

    bmcf = ngx_http_get_module_main_conf(r, ngx_http_blob_module);

    if (bmcf->task_batch <= 1) {
        return ngx_http_blob_task_run(r, ctx, work, done);
    }

    bt = ngx_http_blob_task_prepare(r, ctx, work, done);
    if (bt == NULL) {
        return NGX_ERROR;
    }

    ngx_http_blob_task_hold(r, ctx, bt);

    ngx_queue_insert_tail(&bmcf->task_pending, &bt->queue);

    if (bmcf->task_batches == 0
        || bmcf->task_usec / 8 >= NGX_HTTP_BLOB_TASK_FAST_USEC)
    {
        /* at the end of this event loop iteration */

        if (!bmcf->task_flush.posted) {
            ngx_post_event(&bmcf->task_flush, &ngx_posted_events);
        }

    } else if (!bmcf->task_flush.timer_set) {
        /* when the batch in the pool comes back */
        ngx_add_timer(&bmcf->task_flush, NGX_HTTP_BLOB_TASK_HOLD_MSEC);
    }

    return NGX_DONE;
}


static ngx_http_blob_task_t *
ngx_http_blob_task_prepare(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_work_pt work, ngx_http_blob_done_pt done)
{
    ngx_http_blob_task_t  *bt;

    if (ctx->busy) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "blob: thread task already in flight");
        return NULL;
    }

    if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
        return NULL;
    }

    bt = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_task_t));
    if (bt == NULL) {
        return NULL;
    }

    bt->ctx = ctx;
    bt->request = r;

    ctx->tasks++;

    ctx->work = work;
    ctx->done = done;
    ctx->err = 0;
    ctx->failed = NULL;

    return bt;
}


static void
ngx_http_blob_task_hold(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_task_t *bt)
{
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
}


static void
ngx_http_blob_task_release(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_task_t *bt)
{
    if (bt->wait.timer_set) {
        ngx_del_timer(&bt->wait);
    }

    r->main->blocked--;
    r->aio = 0;
    ctx->busy = 0;
}


/* the posted event: the short tasks of this iteration go to the pool */

static void
ngx_http_blob_task_flush(ngx_event_t *ev)
{
    ngx_uint_t                  i, n, max;
    ngx_queue_t                *q;
    ngx_connection_t           *c;
    ngx_thread_pool_t          *pool;
    ngx_thread_task_t          *task;
    ngx_http_request_t         *r;
    ngx_http_blob_task_t       *bt, *first;
    ngx_http_blob_task_t       *busy[NGX_HTTP_BLOB_TASK_BATCH_MAX];
    ngx_http_blob_batch_t      *batch;
    ngx_http_blob_main_conf_t  *bmcf;

    bmcf = ev->data;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    if (ev->posted) {
        ngx_delete_posted_event(ev);
    }

    /* task_usec is 8 times an exponential mean: 1/8 weight per batch */

    max = NGX_HTTP_BLOB_TASK_BATCH_USEC * 8 / (bmcf->task_usec + 1);
    max = ngx_max(max, 1);
    max = ngx_min(max, bmcf->task_batch);

    while (!ngx_queue_empty(&bmcf->task_pending)) {

        q = ngx_queue_head(&bmcf->task_pending);
        first = ngx_queue_data(q, ngx_http_blob_task_t, queue);
        pool = first->ctx->conf->thread_pool;

        /* consecutive tasks for the same pool, blob_task_batch at most */

        for (n = 1; n < max; n++) {
            q = ngx_queue_next(q);

            if (q == ngx_queue_sentinel(&bmcf->task_pending)) {
                break;
            }

            bt = ngx_queue_data(q, ngx_http_blob_task_t, queue);

            if (bt->ctx->conf->thread_pool != pool) {
                break;
            }
        }

        /*
         * the batch lives in the first request's pool: that request is
         * blocked until the batch comes back, as each of them is
         */

        task = ngx_http_blob_task_batch(first->request->pool, n);

        if (task == NULL) {
            for (i = 0; i < n; i++) {
                q = ngx_queue_head(&bmcf->task_pending);
                ngx_queue_remove(q);

                bt = ngx_queue_data(q, ngx_http_blob_task_t, queue);
                bt->ctx->failed = "allocating a thread task";
                bt->ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;

                ngx_http_blob_task_complete(bt);
            }

            continue;
        }

        batch = task->ctx;
        batch->bmcf = bmcf;

        for (i = 0; i < n; i++) {
            q = ngx_queue_head(&bmcf->task_pending);
            ngx_queue_remove(q);

            batch->task[i] = ngx_queue_data(q, ngx_http_blob_task_t, queue);
        }

        if (ngx_thread_task_post(pool, task) == NGX_OK) {
            bmcf->task_batches++;
            continue;
        }

        /*
         * The queue is full: tell the clients to back off, as Azure does.
         * The batch goes with the first request's pool: copy it first.
         */

        ngx_memcpy(busy, batch->task, n * sizeof(ngx_http_blob_task_t *));

        for (i = 0; i < n; i++) {
            bt = busy[i];
            r = bt->request;
            c = r->connection;

            ngx_http_set_log_request(c->log, r);

            ngx_http_blob_task_release(r, bt->ctx, bt);

            if (r->done || c->error) {
                ngx_http_finalize_request(r, NGX_ERROR);

            } else {
                ngx_http_finalize_request(r, ngx_http_blob_error(r,
                                             NGX_HTTP_BLOB_ERR_SERVER_BUSY,
                                             NULL));
            }

            ngx_http_run_posted_requests(c);
        }
    }
}


/* a thread task for n requests' work; bmcf only for short tasks */

static ngx_thread_task_t *
ngx_http_blob_task_batch(ngx_pool_t *pool, ngx_uint_t n)
{
    ngx_thread_task_t      *task;
    ngx_http_blob_batch_t  *batch;

    task = ngx_thread_task_alloc(pool, offsetof(ngx_http_blob_batch_t, task)
                                       + n * sizeof(ngx_http_blob_task_t *));
    if (task == NULL) {
        return NULL;
    }

    batch = task->ctx;
    batch->n = n;
    batch->bmcf = NULL;

    task->handler = ngx_http_blob_task_handler;
    task->event.data = batch;
    task->event.handler = ngx_http_blob_task_event_handler;

    return task;
}


static void
ngx_http_blob_task_handler(void *data, ngx_log_t *log)
{
    ngx_http_blob_batch_t  *batch = data;

    ngx_uint_t             i;
    struct timespec        start, end;
    ngx_http_blob_task_t  *bt;

    if (batch->bmcf) {
        (void) clock_gettime(CLOCK_MONOTONIC, &start);
    }

    for (i = 0; i < batch->n; i++) {
        bt = batch->task[i];
        bt->ctx->work(bt->ctx);
    }

    if (batch->bmcf) {
        (void) clock_gettime(CLOCK_MONOTONIC, &end);

        batch->usec = (end.tv_sec - start.tv_sec) * 1000000
                      + (end.tv_nsec - start.tv_nsec) / 1000;
    }
}


static void
ngx_http_blob_task_event_handler(ngx_event_t *ev)
{
    ngx_uint_t                  i, n;
    ngx_http_blob_task_t       *task[NGX_HTTP_BLOB_TASK_BATCH_MAX];
    ngx_http_blob_batch_t      *batch;
    ngx_http_blob_main_conf_t  *bmcf;

    /* the batch may go with the first request's pool: copy it first */

    batch = ev->data;
    n = batch->n;

    if (batch->bmcf) {
        bmcf = batch->bmcf;
        bmcf->task_usec += batch->usec / (ngx_int_t) n
                           - bmcf->task_usec / 8;

        bmcf->task_batches--;

        /* the tasks that waited for this batch go at the end of this turn */

        if (!ngx_queue_empty(&bmcf->task_pending)
            && !bmcf->task_flush.posted)
        {
            ngx_post_event(&bmcf->task_flush, &ngx_posted_events);
        }
    }

    ngx_memcpy(task, batch->task, n * sizeof(ngx_http_blob_task_t *));

    for (i = 0; i < n; i++) {
        ngx_http_blob_task_complete(task[i]);
    }
}


static void
ngx_http_blob_task_complete(ngx_http_blob_task_t *bt)
{
    ngx_uint_t             level;
    ngx_connection_t      *c;
    ngx_http_request_t    *r;
    ngx_http_blob_ctx_t   *ctx;

    r = bt->request;
    c = r->connection;
    ctx = bt->ctx;

    ngx_http_set_log_request(c->log, r);

    ngx_http_blob_task_release(r, ctx, bt);

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


/*
 * $blob_thread_tasks: how many thread-pool tasks a request took, for the
 * access log: one per filesystem step or body buffer; 0 for a read
 * answered from caches on the event loop (blob_cached_reads), and for a
 * request refused before it reached the filesystem.
 */

ngx_int_t
ngx_http_blob_task_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    ngx_http_blob_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_blob_module);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%ui", ctx->tasks) - p;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}

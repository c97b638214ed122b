
/*
 * ngx_blob_module: request bodies streamed into a staging file.
 *
 * nginx would buffer a large body to client_body_temp_path with blocking
 * write(2) calls on the event loop.  Instead the body is read unbuffered:
 * each buffer nginx fills is handed to a thread task that appends it to a
 * staging file under <root>/.blob/tmp (the same filesystem as the blobs, so
 * a commit is a rename) and feeds MD5 and CRC-64 on the way; reading
 * resumes when the buffer is free again.  Memory per request is one
 * buffer, whatever the size of the blob; two for a large body that is
 * hashed with MD5 (below).
 */


#include "ngx_http_blob_module.h"


/*
 * A body without Content-Length (chunked) is accepted only by operations
 * that take a small XML document (Set Container ACL, Set Blob Service
 * Properties: 64 KiB); the others answer 411 first.  Its size is known
 * only as it arrives, so reading stops past this instead of staging an
 * endless body on the data root's disk before the operation can say no.
 */
#define NGX_HTTP_BLOB_BODY_CHUNKED_MAX  (64 * 1024)

/*
 * Each buffer of a large hashed body is a thread task: larger ones make
 * fewer round trips between the event loop and the pool, whose latency
 * leaves the hashing thread idle between buffers (512 KiB: about 10% of a
 * 256 MiB Put Blob's time at 256 KiB, 5% at 512 KiB).  Such a body holds
 * two of them, 1 MiB, so only bodies larger than that get them.
 */
#define NGX_HTTP_BLOB_BODY_HASHED_BUFFER  (512 * 1024)
#define NGX_HTTP_BLOB_BODY_HASHED_MIN     (1024 * 1024)

/* how much written data may wait before its writeback is started */
#define NGX_HTTP_BLOB_BODY_WRITEBACK      (8 * 1024 * 1024)


static void ngx_http_blob_body_post_handler(ngx_http_request_t *r);
static void ngx_http_blob_body_read_handler(ngx_http_request_t *r);
static void ngx_http_blob_body_process(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_uint_t ngx_http_blob_body_swap(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_body_hash_post(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_body_hash_handler(void *data, ngx_log_t *log);
static void ngx_http_blob_body_hash_done(ngx_event_t *ev);
static void ngx_http_blob_body_hash_wait(ngx_event_t *ev);
static void ngx_http_blob_body_write_work(ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_body_write_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_body_fail(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_e error);
static void ngx_http_blob_body_cleanup(void *data);


ngx_int_t
ngx_http_blob_body_read(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_done_pt done)
{
    ngx_int_t            rc;
    ngx_pool_cleanup_t  *cln;

    if (ngx_http_blob_store_temp_name(r->pool, &ctx->account_root,
                                      &ctx->temp_path)
        != NGX_OK)
    {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    cln->handler = ngx_http_blob_body_cleanup;
    cln->data = ctx;

    ctx->body_done_handler = done;
    ctx->body_received = 0;
    ctx->body_flushed = 0;
    ctx->body_crc64 = 0;
    ctx->body_done = 0;
    ctx->committed = 0;
    ngx_md5_init(&ctx->body_md5);

    ctx->body_chain = NULL;
    ctx->body_spare = NULL;

    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_blob_body_post_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {

        if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            return ngx_http_blob_error(r,
                                      NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE,
                                      NULL);
        }

        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_blob_body_post_handler(ngx_http_request_t *r)
{
    ngx_http_blob_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_blob_module);

    r->read_event_handler = ngx_http_blob_body_read_handler;

    ngx_http_blob_body_process(r, ctx);
}


static void
ngx_http_blob_body_read_handler(ngx_http_request_t *r)
{
    ngx_http_blob_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_blob_module);

    ngx_http_blob_body_process(r, ctx);
}


static void
ngx_http_blob_body_process(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_chain_t               *out;
    ngx_http_request_body_t   *rb;

    rb = r->request_body;

    for ( ;; ) {

        if (ctx->body_done) {
            return;
        }

        /*
         * Reading goes on while a write is in flight, into the rest of the
         * buffer, so the network and the disk overlap; nginx stops reading
         * by itself when the buffer is full of data not yet written.
         */

        if (r->reading_body) {
            rc = ngx_http_read_unbuffered_request_body(r);

            if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
                ctx->body_done = 1;

                if (ctx->busy || ctx->body_hashing
                    || r->connection->read->timedout || r->connection->error)
                {
                    ngx_http_finalize_request(r, rc);
                    return;
                }

                ngx_http_blob_body_fail(r, ctx,
                                        NGX_HTTP_BLOB_ERR_INVALID_INPUT);
                return;
            }
        }

        if (ctx->busy || ctx->body_hashing) {
            /* what was read is written when the current write completes */

            if (ngx_http_blob_body_swap(r, ctx)) {
                continue;
            }

            return;
        }

        out = rb->bufs;
        rb->bufs = NULL;

        if (out == NULL && r->reading_body) {
            /* wait for the client */
            return;
        }

        ctx->body_chain = out;
        ctx->body_last = r->reading_body ? 0 : 1;

        /* decided before the write task can run */
        ctx->body_hash_apart = (ctx->body_spare && !ctx->body_last);

        rc = ngx_http_blob_task_run(r, ctx, ngx_http_blob_body_write_work,
                                    ngx_http_blob_body_write_done);

        if (rc != NGX_DONE) {
            ctx->body_done = 1;
            ngx_http_finalize_request(r, rc);
            return;
        }

        if (ctx->body_hash_apart
            && ngx_http_blob_body_hash_post(r, ctx) != NGX_OK)
        {
            /* no task for it (a full queue): hashed here, in order */
            ngx_http_blob_body_hash_handler(ctx, r->connection->log);
        }

        /*
         * nobody up the stack takes NGX_DONE from a read event handler, so
         * the reference the task took is given back here; the request's
         * own one keeps it alive until the body's "done" handler
         * finalizes it
         */

        r->main->count--;

        if (!ngx_http_blob_body_swap(r, ctx)) {
            return;
        }
    }
}


/*
 * With MD5 a write task takes several times longer than reading the same
 * bytes from the network, and a full buffer stops reading until it is
 * done.  A large hashed body (Put Blob; Put Block with Content-MD5) gets a
 * second buffer: when the one nginx reads into is full and a write is in
 * flight, nginx goes on reading into the other, as soon as nothing of it
 * is left to write.  Returns 1 when reading can go on.
 */

static ngx_uint_t
ngx_http_blob_body_swap(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    u_char                   *start;
    size_t                    size;
    ngx_chain_t              *cl;
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    if (!r->reading_body || ctx->body_skip_md5 || rb == NULL || rb->buf == NULL
#if (NGX_HTTP_V2)
        || r->stream
#endif
        || rb->buf->last != rb->buf->end)
    {
        return 0;
    }

    size = NGX_HTTP_BLOB_BODY_HASHED_BUFFER;

    if (r->headers_in.content_length_n <= NGX_HTTP_BLOB_BODY_HASHED_MIN) {
        return 0;
    }

    if (ctx->body_spare == NULL) {

        /*
         * nginx's buffer stays as it is, with what is left of it to
         * write; from now on the body alternates between two of these
         */

        start = ngx_palloc(r->pool, 2 * size);
        if (start == NULL) {
            return 0;
        }

        rb->buf->start = start;
        rb->buf->pos = start;
        rb->buf->last = start;
        rb->buf->end = start + size;

        ctx->body_spare = start + size;

        return 1;
    }

    /* every buffer not yet written, posted or not, is in rb->busy */

    for (cl = rb->busy; cl; cl = cl->next) {
        if (cl->buf->pos < cl->buf->last
            && cl->buf->pos >= ctx->body_spare
            && cl->buf->pos < ctx->body_spare + size)
        {
            return 0;
        }
    }

    start = rb->buf->start;

    rb->buf->start = ctx->body_spare;
    rb->buf->pos = ctx->body_spare;
    rb->buf->last = ctx->body_spare;
    rb->buf->end = ctx->body_spare + size;

    ctx->body_spare = start;

    return 1;
}


/*
 * Hashing costs more CPU than moving the bytes: each checksum is computed
 * only when the operation answers or checks with it.
 */

static ngx_inline void
ngx_http_blob_body_hash(ngx_http_blob_ctx_t *ctx, u_char *p, size_t len)
{
    if (ctx->body_hash_apart) {
        return;
    }

    if (!ctx->body_skip_md5) {
        ngx_md5_update(&ctx->body_md5, p, len);
    }

    if (!ctx->body_skip_crc64) {
        ctx->body_crc64 = ngx_http_blob_crc64(ctx->body_crc64, p, len);
    }
}


/*
 * MD5 runs at well under 1 GB/s, several times slower than writing the
 * same bytes to the page cache: in one task, the hash holds the write up.
 * For a large hashed body (the two-buffer case) a second task hashes the
 * buffers the write task writes, on another thread; the buffers go back
 * to nginx when both are done, and only then do the next ones go, so the
 * buffers are hashed in order.  Not the last buffers: the commit runs in
 * the task that writes them and needs the final MD5.
 */

static ngx_int_t
ngx_http_blob_body_hash_post(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_thread_task_t  *task;

    task = ctx->body_hash_task;

    if (task == NULL) {
        task = ngx_thread_task_alloc(r->pool, 0);
        if (task == NULL) {
            return NGX_ERROR;
        }

        task->handler = ngx_http_blob_body_hash_handler;
        task->ctx = ctx;
        task->event.data = r;
        task->event.handler = ngx_http_blob_body_hash_done;

        ctx->body_hash_task = task;
    }

    if (ngx_thread_task_post(ctx->conf->thread_pool, task) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->tasks++;
    ctx->body_hashing = 1;
    r->main->blocked++;

    /* as for every task: a worker that shuts down waits for it */

    ctx->body_hash_wait.handler = ngx_http_blob_body_hash_wait;
    ctx->body_hash_wait.data = r;
    ctx->body_hash_wait.log = r->connection->log;
    ngx_add_timer(&ctx->body_hash_wait, 60000);

    return NGX_OK;
}


static void
ngx_http_blob_body_hash_handler(void *data, ngx_log_t *log)
{
    ngx_http_blob_ctx_t  *ctx = data;

    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    for (cl = ctx->body_chain; cl; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b)) {
            continue;
        }

        if (!ctx->body_skip_md5) {
            ngx_md5_update(&ctx->body_md5, b->pos, b->last - b->pos);
        }

        if (!ctx->body_skip_crc64) {
            ctx->body_crc64 = ngx_http_blob_crc64(ctx->body_crc64, b->pos,
                                                  b->last - b->pos);
        }
    }
}


static void
ngx_http_blob_body_hash_done(ngx_event_t *ev)
{
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_blob_ctx_t  *ctx;

    r = ev->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_blob_module);

    ngx_http_set_log_request(c->log, r);

    if (ctx->body_hash_wait.timer_set) {
        ngx_del_timer(&ctx->body_hash_wait);
    }

    r->main->blocked--;
    ctx->body_hashing = 0;

    if (r->done || c->error) {
        /* the client went away while the task ran */
        ctx->body_write_waits = 0;
        ngx_http_finalize_request(r, NGX_ERROR);

    } else if (ctx->body_write_waits) {
        ctx->body_write_waits = 0;
        ngx_http_blob_body_write_done(r, ctx);

    } else {
        /* as nginx's aio handlers: a request ended meanwhile ends now */
        r->write_event_handler(r);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_blob_body_hash_wait(ngx_event_t *ev)
{
    ngx_add_timer(ev, 60000);
}


/* the thread side: append buffers, feed the checksums, finish the file */

static void
ngx_http_blob_body_write_work(ngx_http_blob_ctx_t *ctx)
{
    u_char        *p, buf[65536];
    off_t          pos, last;
    size_t         len;
    ssize_t        n;
    ngx_buf_t     *b;
    ngx_chain_t   *cl;

    if (ctx->fd == NGX_INVALID_FILE) {
        ctx->fd = open((char *) ctx->temp_path.data,
                       O_WRONLY|O_CREAT|O_EXCL, 0644);

        if (ctx->fd == NGX_INVALID_FILE && ngx_errno == NGX_ENOENT) {
            /* first use of this root: create .blob/tmp */
            if (ngx_http_blob_store_mkdir_parents(ctx, ctx->temp_path.data,
                                                  ctx->account_root.len)
                == NGX_OK)
            {
                ctx->fd = open((char *) ctx->temp_path.data,
                               O_WRONLY|O_CREAT|O_EXCL, 0644);
            }
        }

        if (ctx->fd == NGX_INVALID_FILE) {
            ctx->err = ngx_errno;
            ctx->failed = "open() of a staging file";
            ctx->error = ngx_http_blob_errno_error(ctx->err);
            return;
        }
    }

    for (cl = ctx->body_chain; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = b->pos;
            len = b->last - b->pos;

            ngx_http_blob_body_hash(ctx, p, len);

            while (len) {
                n = pwrite(ctx->fd, p, len, ctx->body_received);

                if (n == -1) {
                    if (ngx_errno == NGX_EINTR) {
                        continue;
                    }

                    goto failed;
                }

                p += n;
                len -= n;
                ctx->body_received += n;
            }

            continue;
        }

        if (!b->in_file) {
            continue;
        }

        /* HTTP/2 may have spooled part of the body to a file */

        for (pos = b->file_pos, last = b->file_last; pos < last; /* void */) {
            len = ngx_min((off_t) sizeof(buf), last - pos);

            n = pread(b->file->fd, buf, len, pos);
            if (n <= 0) {
                goto failed;
            }

            ngx_http_blob_body_hash(ctx, buf, n);

            if (pwrite(ctx->fd, buf, n, ctx->body_received) != n) {
                goto failed;
            }

            pos += n;
            ctx->body_received += n;
        }
    }

#if (NGX_LINUX)

    /*
     * The fsync() at the end would write the whole body out at once and
     * wait for it.  Started as the body arrives, the writeback overlaps
     * the network and the hashing, and the fsync() waits for the tail.
     * Without fsync() too: a large body left dirty in the page cache
     * would have the kernel throttle the writing thread later.
     */

    if (ctx->body_received - ctx->body_flushed
        >= NGX_HTTP_BLOB_BODY_WRITEBACK)
    {
        (void) sync_file_range(ctx->fd, ctx->body_flushed,
                               ctx->body_received - ctx->body_flushed,
                               SYNC_FILE_RANGE_WRITE);
        ctx->body_flushed = ctx->body_received;
    }

#endif

    if (!ctx->body_last) {
        return;
    }

    /* the whole body is here */

    if (ctx->conf->fsync && fsync(ctx->fd) == -1) {
        goto failed;
    }

    if (close(ctx->fd) == -1) {
        ctx->fd = NGX_INVALID_FILE;
        goto failed;
    }

    ctx->fd = NGX_INVALID_FILE;

    /* a commit that needs nothing from the event loop saves a round trip */

    if (ctx->body_finish) {
        ctx->body_finish(ctx);
    }

    return;

failed:

    ctx->err = ngx_errno;
    ctx->failed = "writing a staging file";
    ctx->error = ngx_http_blob_errno_error(ctx->err);

    if (ctx->error == NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    /*
     * the partial file goes now, not with the request: after an early
     * answer, lingering close keeps the request for up to lingering_time,
     * and on a full disk the client's retry needs the space it holds
     */

    if (ctx->fd != NGX_INVALID_FILE) {
        (void) close(ctx->fd);
        ctx->fd = NGX_INVALID_FILE;
    }

    (void) unlink((char *) ctx->temp_path.data);
}


static void
ngx_http_blob_body_write_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_chain_t  *cl;

    if (ctx->body_hashing) {
        /* the buffers are still being hashed */
        ctx->body_write_waits = 1;
        return;
    }

    /* hand the buffers back to nginx's request body reader */

    for (cl = ctx->body_chain; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    ctx->body_chain = NULL;

    if (ctx->failed) {
        ctx->body_done = 1;
        ngx_http_blob_body_fail(r, ctx, ctx->error);
        return;
    }

    if (r->headers_in.chunked
        && ctx->body_received > NGX_HTTP_BLOB_BODY_CHUNKED_MAX)
    {
        ctx->body_done = 1;
        ngx_http_blob_body_fail(r, ctx,
                                NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE);
        return;
    }

    /*
     * only the write that was posted after the last byte arrived ends the
     * body: what was read while an earlier write ran is still to write
     */

    if (!ctx->body_last) {
        ngx_http_blob_body_process(r, ctx);
        return;
    }

    ctx->body_done = 1;
    r->read_event_handler = ngx_http_block_reading;

    ctx->body_done_handler(r, ctx);
}


static void
ngx_http_blob_body_fail(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_error_e error)
{
    if (r->reading_body) {
        /* the rest of the body is not read: the connection cannot be kept */
        r->keepalive = 0;
        r->lingering_close = 1;
    }

    r->read_event_handler = ngx_http_block_reading;

    ngx_http_finalize_request(r, ngx_http_blob_error(r, error, NULL));
}


/*
 * A staging file that was not committed is removed with the request.  The
 * normal error paths get here after the response was sent; a crash leaves
 * the file for the collector (blob_temp_ttl).
 */

static void
ngx_http_blob_body_cleanup(void *data)
{
    ngx_http_blob_ctx_t  *ctx = data;

    if (ctx->fd != NGX_INVALID_FILE) {
        (void) close(ctx->fd);
        ctx->fd = NGX_INVALID_FILE;
    }

    if (!ctx->committed && ctx->temp_path.data) {
        (void) unlink((char *) ctx->temp_path.data);
    }
}

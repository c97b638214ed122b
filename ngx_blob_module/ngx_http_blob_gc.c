
/*
 * ngx_blob_module: the garbage collector, on worker timers.
 *
 * Work that no client request does: abandoned staging files (a crash, a
 * client that went away), uncommitted blocks older than
 * blob_uncommitted_block_ttl (Azure keeps them a week), properties of
 * versions that are no longer current, and trees deleted into .blob/trash.
 * Worker 0 of each host runs it every blob_gc_interval; hosts need no
 * coordination, since every step is idempotent (ENOENT is success).  It is
 * also the shape later background work (tiering, hydration) takes: a timer,
 * a thread task, no request.
 */


#include "ngx_http_blob_module.h"


struct ngx_http_blob_gc_s {
    ngx_event_t                  event;
    ngx_http_blob_main_conf_t   *bmcf;
    ngx_http_blob_loc_conf_t     conf;      /* what store functions read */
    ngx_http_blob_ctx_t          ctx;
    ngx_thread_task_t           *task;
    ngx_log_t                   *log;
    ngx_uint_t                   removed;
    unsigned                     busy:1;
};


static void ngx_http_blob_gc_timer(ngx_event_t *ev);
static void ngx_http_blob_gc_thread(void *data, ngx_log_t *log);
static void ngx_http_blob_gc_finished(ngx_event_t *ev);
static void ngx_http_blob_gc_root(ngx_http_blob_gc_t *gc, ngx_str_t *root);
static void ngx_http_blob_gc_flat(ngx_http_blob_gc_t *gc, u_char *dir,
    time_t older_than, ngx_uint_t trees);
static void ngx_http_blob_gc_state(ngx_http_blob_gc_t *gc, ngx_str_t *root,
    u_char *path, size_t len, size_t size);
static void ngx_http_blob_gc_blob_state(ngx_http_blob_gc_t *gc,
    ngx_str_t *root, ngx_str_t *container, u_char *path, size_t len,
    size_t size);


ngx_int_t
ngx_http_blob_gc_init_process(ngx_cycle_t *cycle)
{
    ngx_http_blob_gc_t         *gc;
    ngx_http_blob_main_conf_t  *bmcf;

    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    /* one collector per host is enough: every step is idempotent anyway */

    if (ngx_worker != 0) {
        return NGX_OK;
    }

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_blob_module);

    if (bmcf == NULL || bmcf->roots.nelts == 0) {
        return NGX_OK;
    }

    gc = ngx_pcalloc(cycle->pool, sizeof(ngx_http_blob_gc_t));
    if (gc == NULL) {
        return NGX_ERROR;
    }

    gc->task = ngx_thread_task_alloc(cycle->pool, 0);
    if (gc->task == NULL) {
        return NGX_ERROR;
    }

    gc->bmcf = bmcf;
    bmcf->gc = gc;
    gc->log = cycle->log;
    gc->conf.fsync = 0;
    gc->ctx.conf = &gc->conf;
    gc->ctx.fd = NGX_INVALID_FILE;

    gc->task->ctx = gc;
    gc->task->handler = ngx_http_blob_gc_thread;
    gc->task->event.data = gc;
    gc->task->event.handler = ngx_http_blob_gc_finished;

    gc->event.handler = ngx_http_blob_gc_timer;
    gc->event.data = gc;
    gc->event.log = cycle->log;

    /* a pending collection must not hold up a graceful shutdown */
    gc->event.cancelable = 1;

    /* spread the first run, so hosts restarted together do not align */
    ngx_add_timer(&gc->event, 1000 + ngx_random() % 1000);

    return NGX_OK;
}


/*
 * A worker that exits while a collection runs never sees its completion:
 * the thread pool finishes the task, but no event loop is left to run the
 * handler that frees the run's pool.
 */

void
ngx_http_blob_gc_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_blob_main_conf_t  *bmcf;

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_blob_module);

    if (bmcf == NULL || bmcf->gc == NULL || bmcf->gc->ctx.task_pool == NULL)
    {
        return;
    }

    ngx_destroy_pool(bmcf->gc->ctx.task_pool);
    bmcf->gc->ctx.task_pool = NULL;
}


/*
 * Removing a tree needs path buffers; a run may remove many, so each gets
 * a pool of its own instead of growing the run's.
 */

static void
ngx_http_blob_gc_remove_tree(ngx_http_blob_gc_t *gc, u_char *path)
{
    ngx_pool_t  *run, *pool;

    pool = ngx_create_pool(4096, gc->log);
    if (pool == NULL) {
        return;
    }

    run = gc->ctx.task_pool;
    gc->ctx.task_pool = pool;

    (void) ngx_http_blob_store_remove_tree(&gc->ctx, path);

    gc->ctx.task_pool = run;
    ngx_destroy_pool(pool);
}


static void
ngx_http_blob_gc_timer(ngx_event_t *ev)
{
    ngx_http_blob_gc_t  *gc = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (gc->busy) {
        ngx_add_timer(&gc->event, gc->bmcf->gc_interval);
        return;
    }

    gc->ctx.task_pool = ngx_create_pool(16384, gc->log);
    if (gc->ctx.task_pool == NULL) {
        ngx_add_timer(&gc->event, gc->bmcf->gc_interval);
        return;
    }

    gc->removed = 0;

    if (ngx_thread_task_post(gc->bmcf->gc_thread_pool, gc->task) != NGX_OK) {
        ngx_destroy_pool(gc->ctx.task_pool);
        gc->ctx.task_pool = NULL;
        ngx_add_timer(&gc->event, gc->bmcf->gc_interval);
        return;
    }

    gc->busy = 1;
}


static void
ngx_http_blob_gc_thread(void *data, ngx_log_t *log)
{
    ngx_http_blob_gc_t  *gc = data;

    ngx_str_t   *root;
    ngx_uint_t   i;

    root = gc->bmcf->roots.elts;

    for (i = 0; i < gc->bmcf->roots.nelts; i++) {
        ngx_http_blob_gc_root(gc, &root[i]);
    }
}


static void
ngx_http_blob_gc_finished(ngx_event_t *ev)
{
    ngx_http_blob_gc_t  *gc = ev->data;

    gc->busy = 0;

    if (gc->removed) {
        ngx_log_error(NGX_LOG_INFO, gc->log, 0,
                      "blob gc: removed %ui stale entries", gc->removed);
    }

    ngx_destroy_pool(gc->ctx.task_pool);
    gc->ctx.task_pool = NULL;

    if (!(ngx_exiting || ngx_terminate || ngx_quit)) {
        ngx_add_timer(&gc->event, gc->bmcf->gc_interval);
    }
}


static void
ngx_http_blob_gc_root(ngx_http_blob_gc_t *gc, ngx_str_t *root)
{
    u_char  *path;
    size_t   size;

    /* a state directory's path, and behind it a blob's (gc_blob_state) */

    size = root->len + sizeof("/" NGX_HTTP_BLOB_STATE_DIR "/state/") + 64
           + NGX_HTTP_BLOB_MAX_NAME + 2 * NAME_MAX
           + root->len + 64 + NGX_HTTP_BLOB_MAX_NAME + 16;

    path = ngx_pnalloc(gc->ctx.task_pool, size);
    if (path == NULL) {
        return;
    }

    gc->ctx.account_root = *root;

    ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/tmp%Z", root);
    ngx_http_blob_gc_flat(gc, path, ngx_time() - gc->bmcf->gc_temp_ttl, 0);

    ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/trash%Z", root);
    ngx_http_blob_gc_flat(gc, path, 0, 1);

    ngx_http_blob_gc_state(gc, root, path, 0, size);
}


/* remove the entries of a directory older than a time (0: all of them) */

static void
ngx_http_blob_gc_flat(ngx_http_blob_gc_t *gc, u_char *dir, time_t older_than,
    ngx_uint_t trees)
{
    u_char         *path;
    DIR            *d;
    size_t          len;
    struct stat     st;
    struct dirent  *de;

    d = opendir((char *) dir);
    if (d == NULL) {
        return;
    }

    len = ngx_strlen(dir);

    path = ngx_pnalloc(gc->ctx.task_pool, len + 1 + NAME_MAX + 1);
    if (path == NULL) {
        closedir(d);
        return;
    }

    while ((de = readdir(d)) != NULL) {

        if (de->d_name[0] == '.'
            && (de->d_name[1] == '\0'
                || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
        {
            continue;
        }

        ngx_sprintf(path, "%s/%s%Z", dir, de->d_name);

        if (lstat((char *) path, &st) == -1) {
            continue;
        }

        if (older_than && st.st_mtime >= older_than) {
            continue;
        }

        if (trees) {
            ngx_http_blob_gc_remove_tree(gc, path);

        } else if (!S_ISDIR(st.st_mode)) {
            (void) unlink((char *) path);
        }

        gc->removed++;
    }

    closedir(d);
}


/* .blob/state/<container>/<hh>/<hash>/ */

static void
ngx_http_blob_gc_state(ngx_http_blob_gc_t *gc, ngx_str_t *root, u_char *path,
    size_t len, size_t size)
{
    DIR            *d1, *d2;
    size_t          l1, l2;
    ngx_str_t       container;
    ngx_uint_t      gone;
    struct stat     st;
    struct dirent  *c, *h, *b;
    DIR            *d3;

    len = ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/state%Z", root)
          - path - 1;

    d1 = opendir((char *) path);
    if (d1 == NULL) {
        return;
    }

    while ((c = readdir(d1)) != NULL) {

        if (c->d_name[0] == '.') {
            continue;
        }

        container.data = (u_char *) c->d_name;
        container.len = ngx_strlen(c->d_name);

        /* the container was deleted: its state goes too */

        ngx_sprintf(path, "%V/%s%Z", root, c->d_name);

        gone = (stat((char *) path, &st) == -1 && ngx_errno == NGX_ENOENT);

        /*
         * the container's path overwrote the state prefix, which the
         * paths below are built on: a container name shorter than
         * ".blob/state" left "<root>/<container>" there, and the walk
         * below went through (and rmdir()ed) the container itself
         */

        ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/state%Z", root);
        l1 = ngx_sprintf(path + len, "/%s%Z", c->d_name) - path - 1;

        if (gone) {
            ngx_http_blob_gc_remove_tree(gc, path);
            gc->removed++;
            continue;
        }

        d2 = opendir((char *) path);
        if (d2 == NULL) {
            continue;
        }

        while ((h = readdir(d2)) != NULL) {

            if (h->d_name[0] == '.') {
                continue;
            }

            l2 = ngx_sprintf(path + l1, "/%s%Z", h->d_name) - path - 1;

            d3 = opendir((char *) path);
            if (d3 == NULL) {
                continue;
            }

            while ((b = readdir(d3)) != NULL) {
                if (b->d_name[0] == '.') {
                    continue;
                }

                ngx_http_blob_gc_blob_state(gc, root, &container, path,
                                            ngx_sprintf(path + l2, "/%s%Z",
                                                        b->d_name)
                                            - path - 1, size);
                path[l2] = '\0';
            }

            closedir(d3);

            path[l2] = '\0';
            (void) rmdir((char *) path);
        }

        closedir(d2);
        path[l1] = '\0';
    }

    closedir(d1);
}


/*
 * One blob's state: uncommitted blocks past their age go; so do versions'
 * properties that are not the blob's current version, once they are older
 * than a staging file may live (a commit writes them just before its
 * rename); an empty directory goes last.
 */

static void
ngx_http_blob_gc_blob_state(ngx_http_blob_gc_t *gc, ngx_str_t *root,
    ngx_str_t *container, u_char *path, size_t len, size_t size)
{
    u_char          cur[sizeof("m-") + 16], *blob;
    u_char          name_buf[NGX_HTTP_BLOB_MAX_NAME + 1];
    DIR            *d;
    int             fd;
    ssize_t         n;
    time_t          now, ttl, name_time;
    ngx_str_t       name;
    ngx_uint_t      have_blob, others;
    struct stat     st, bst;
    struct dirent  *de;

    now = ngx_time();
    have_blob = 0;
    others = 0;
    name_time = 0;
    ngx_str_null(&name);

    ngx_sprintf(path + len, "/name%Z");

    /*
     * buffers of this function live on the stack: a run visits every blob
     * with state, so nothing per blob may stay in the run's pool
     */

    n = -1;
    fd = open((char *) path, O_RDONLY|O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC);

    if (fd != -1) {
        n = read(fd, name_buf, sizeof(name_buf));
        close(fd);
    }

    if (n > 0 && n < (ssize_t) sizeof(name_buf)) {
        name.data = name_buf;
        name.len = n;

        /* the path buffer has room behind the state path for this */
        blob = path + len + sizeof("/name");

        if ((size_t) (len + sizeof("/name") + root->len + container->len
                      + name.len + 3) > size)
        {
            /* cannot tell whether the blob exists: touch nothing */
            return;
        }

        ngx_sprintf(blob, "%V/%V/%V%Z", root, container, &name);

        if (lstat((char *) blob, &bst) == 0 && S_ISREG(bst.st_mode)) {
            have_blob = 1;
            ngx_sprintf(cur, "m-%016xL%Z", ngx_http_blob_store_etag(&bst));
        }
    }

    path[len] = '\0';

    d = opendir((char *) path);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {

        if (de->d_name[0] == '.'
            && (de->d_name[1] == '\0'
                || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
        {
            continue;
        }

        ngx_sprintf(path + len, "/%s%Z", de->d_name);

        if (lstat((char *) path, &st) == -1) {
            continue;
        }

        if (ngx_strcmp(de->d_name, "name") == 0) {
            name_time = st.st_mtime;
            continue;
        }

        switch (de->d_name[0]) {

        case 'b':
            ttl = gc->bmcf->gc_block_ttl;
            break;

        case 'm':
        case 'l':
            /* the current version's files stay */
            if (have_blob && ngx_strcmp(de->d_name + 1, cur + 1) == 0) {
                others++;
                continue;
            }

            ttl = gc->bmcf->gc_temp_ttl;
            break;

        default:
            /* ".t-*": a state file write that did not finish */
            ttl = gc->bmcf->gc_temp_ttl;
            break;
        }

        if (st.st_mtime < now - ttl) {
            (void) unlink((char *) path);
            gc->removed++;

        } else {
            others++;
        }
    }

    closedir(d);

    /* only "name" left, and no blob: the directory has served its time */

    if (!have_blob && others == 0 && name_time
        && name_time < now - gc->bmcf->gc_temp_ttl)
    {
        ngx_sprintf(path + len, "/name%Z");
        (void) unlink((char *) path);
        path[len] = '\0';

        if (rmdir((char *) path) == -1
            && (ngx_errno == ENOTEMPTY || ngx_errno == NGX_EEXIST)
            && name.len)
        {
            /*
             * a commit or a Put Block wrote here since the directory was
             * read: its name goes back, or the collector would later take
             * the properties of the version being made for an orphan's
             */

            ngx_sprintf(path + len, "/name%Z");
            (void) ngx_http_blob_store_write_file(&gc->ctx, path, name.data,
                                                  name.len);
            path[len] = '\0';

        } else {
            gc->removed++;
        }
    }

    path[len] = '\0';
}


/*
 * ngx_blob_module: List Blobs.
 *
 * Azure lists names in byte order; a directory tree yields that order when
 * each directory is read whole, sorted with a subdirectory "a" keyed as
 * "a/", and walked depth first: no sibling name can fall between "a/" and
 * the names below it, as sibling names hold no slash.  So one page is a
 * depth-first walk from the page's lower bound, and the marker is just the
 * key where the next page starts.
 *
 * What keeps a page cheap on a large tree:
 *   - the walk starts in the directory of the prefix, and skips every
 *     entry that is neither below the lower bound nor above it on its path;
 *   - once a BlobPrefix is out, the lower bound moves past everything that
 *     starts with it, so a directory under a delimiter "/" is entered only
 *     as deep as its first blob (which also makes an empty directory vanish,
 *     as a virtual directory without blobs does in Azure);
 *   - a directory keeps only as many sorted entries as a page can use, and
 *     is read again from its last key when more are needed;
 *   - when the work that a next page would not redo passes a bound, the page
 *     ends early with a NextMarker, as Azure's may.
 *
 * The walk runs in a thread task; the XML is written on the event loop.
 */


#include "ngx_http_blob_module.h"


#define NGX_HTTP_BLOB_LIST_WORK        200000
#define NGX_HTTP_BLOB_LIST_MIN_KEEP    64
#define NGX_HTTP_BLOB_LIST_MARKER      "1!"


typedef struct {
    ngx_str_t                    name;      /* a directory's ends in '/' */
    unsigned                     dir:1;
} ngx_http_blob_list_entry_t;


typedef struct {
    size_t                       plen;      /* its key: path[base_len..] */
    ngx_http_blob_list_entry_t  *entries;
    ngx_uint_t                   n;
    ngx_uint_t                   nalloc;
    ngx_uint_t                   next;
    ngx_uint_t                   cost;      /* dirents its load read */
    ngx_str_t                    after;     /* reload: names above this */
    unsigned                     truncated:1;
} ngx_http_blob_list_frame_t;


typedef struct {
    ngx_str_t                    name;
    ngx_http_blob_props_t        props;
    unsigned                     prefix:1;
    unsigned                     uncommitted:1;
} ngx_http_blob_list_item_t;


typedef struct {
    /* the request */
    ngx_str_t                    prefix;
    ngx_str_t                    delimiter;
    ngx_str_t                    marker;    /* as sent, echoed back */
    ngx_str_t                    start;     /* the key it stands for */
    ngx_uint_t                   max;
    ngx_uint_t                   max_sent;
    unsigned                     has_prefix:1;
    unsigned                     has_marker:1;
    unsigned                     has_max:1;
    unsigned                     metadata:1;
    unsigned                     uncommitted:1;

    /* the walk, in the thread */
    ngx_str_t                    lo;        /* keys below are done */
    u_char                      *path;      /* container path + '/' + key */
    size_t                       base_len;
    ngx_array_t                  frames;
    ngx_uint_t                   keep;      /* entries a frame keeps */
    ngx_uint_t                   work;
    ngx_uint_t                   stack_cost;
    ngx_array_t                  unc;       /* of ngx_http_blob_list_item_t */
    ngx_uint_t                   unc_next;
    unsigned                     stop:1;

    /* the result */
    ngx_array_t                  items;
    ngx_str_t                    next;      /* key of the next page */
} ngx_http_blob_list_t;


static ngx_int_t ngx_http_blob_list_params(ngx_http_request_t *r,
    ngx_http_blob_list_t *lst, ngx_http_blob_error_detail_t *detail);
static ngx_int_t ngx_http_blob_list_include(ngx_http_blob_list_t *lst,
    ngx_str_t *value, ngx_uint_t *snapshots);
static void ngx_http_blob_list_work(ngx_http_blob_ctx_t *ctx);
static ngx_int_t ngx_http_blob_list_start(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst);
static ngx_int_t ngx_http_blob_list_walk(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst);
static ngx_int_t ngx_http_blob_list_push(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst, size_t plen);
static ngx_int_t ngx_http_blob_list_load(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst, ngx_http_blob_list_frame_t *f);
static ngx_int_t ngx_http_blob_list_add(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_frame_t *f, u_char *name, size_t len,
    ngx_uint_t dir);
static ngx_uint_t ngx_http_blob_list_relevant(ngx_http_blob_list_t *lst,
    u_char *key, size_t len, ngx_uint_t dir);
static ngx_int_t ngx_http_blob_list_flush(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst, u_char *key, size_t len);
static ngx_int_t ngx_http_blob_list_emit(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst, ngx_str_t *name, ngx_file_info_t *fi,
    ngx_http_blob_list_item_t *unc);
static ngx_int_t ngx_http_blob_list_uncommitted(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst);
static ngx_int_t ngx_http_blob_list_uncommitted_dir(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst, u_char *path, size_t len);
static void ngx_http_blob_list_done(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
static void ngx_http_blob_list_write_name(ngx_http_blob_xml_t *x,
    ngx_str_t *name);
static void ngx_http_blob_list_write_blob(ngx_http_request_t *r,
    ngx_http_blob_xml_t *x, ngx_http_blob_list_t *lst,
    ngx_http_blob_list_item_t *item);
static int ngx_libc_cdecl ngx_http_blob_list_cmp_entries(const void *one,
    const void *two);
static int ngx_libc_cdecl ngx_http_blob_list_cmp_items(const void *one,
    const void *two);
static ngx_int_t ngx_http_blob_list_cmp(u_char *a, size_t alen, u_char *b,
    size_t blen);
static ngx_uint_t ngx_http_blob_list_starts(u_char *s, size_t len,
    ngx_str_t *prefix);
static ngx_int_t ngx_http_blob_list_name_check(u_char *p, size_t len);


ngx_int_t
ngx_http_blob_list_blobs(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_http_blob_list_t          *lst;
    ngx_http_blob_error_detail_t   detail;

    lst = ngx_pcalloc(r->pool, sizeof(ngx_http_blob_list_t));
    if (lst == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    rc = ngx_http_blob_list_params(r, lst, &detail);
    if (rc != NGX_HTTP_BLOB_OK) {
        return ngx_http_blob_error(r, rc, &detail);
    }

    if (ngx_http_blob_task_pool(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->op_data = lst;
    ctx->error = NGX_HTTP_BLOB_OK;

    return ngx_http_blob_task_run(r, ctx, ngx_http_blob_list_work,
                                  ngx_http_blob_list_done);
}


/* returns an ngx_http_blob_error_e */

static ngx_int_t
ngx_http_blob_list_params(ngx_http_request_t *r, ngx_http_blob_list_t *lst,
    ngx_http_blob_error_detail_t *detail)
{
    u_char      *p, *last, *end;
    ngx_int_t    n;
    ngx_str_t    value, raw, decoded;
    ngx_uint_t   snapshots, delimiter;

    /* prefix */

    switch (ngx_http_blob_arg_decoded(r, "prefix", &lst->prefix)) {

    case NGX_OK:
        lst->has_prefix = 1;
        break;

    case NGX_DECLINED:
        break;

    default:
        ngx_str_set(&detail->query_name, "prefix");
        return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
    }

    /* delimiter: any string; an empty one means none */

    delimiter = 0;

    switch (ngx_http_blob_arg_decoded(r, "delimiter", &lst->delimiter)) {

    case NGX_OK:
        delimiter = 1;
        break;

    case NGX_DECLINED:
        break;

    default:
        ngx_str_set(&detail->query_name, "delimiter");
        return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
    }

    /* marker: ours, "1!" and the base64url of the key to start at */

    switch (ngx_http_blob_arg_decoded(r, "marker", &lst->marker)) {

    case NGX_OK:
        lst->has_marker = 1;

        if (lst->marker.len == 0) {
            break;
        }

        if (lst->marker.len < sizeof(NGX_HTTP_BLOB_LIST_MARKER) - 1
            || ngx_strncmp(lst->marker.data, NGX_HTTP_BLOB_LIST_MARKER,
                           sizeof(NGX_HTTP_BLOB_LIST_MARKER) - 1) != 0)
        {
            goto bad_marker;
        }

        raw.data = lst->marker.data + sizeof(NGX_HTTP_BLOB_LIST_MARKER) - 1;
        raw.len = lst->marker.len - (sizeof(NGX_HTTP_BLOB_LIST_MARKER) - 1);

        decoded.data = ngx_pnalloc(r->pool,
                                   ngx_base64_decoded_length(raw.len) + 1);
        if (decoded.data == NULL) {
            return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }

        if (ngx_decode_base64url(&decoded, &raw) != NGX_OK
            || decoded.len > NGX_HTTP_BLOB_MAX_NAME + 1)
        {
            goto bad_marker;
        }

        lst->start = decoded;
        break;

    case NGX_DECLINED:
        break;

    default:
        goto bad_marker;
    }

    /* maxresults: 1..5000, more is capped, less is out of range */

    lst->max = NGX_HTTP_BLOB_MAX_RESULTS;

    if (ngx_http_blob_arg(r, "maxresults", &value) == NGX_OK) {
        ngx_str_set(&detail->query_name, "maxresults");
        detail->query_value = value;

        p = value.data;
        last = p + value.len;

        if (p < last && *p == '-') {
            p++;
        }

        if (p == last) {
            return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
        }

        for ( /* void */ ; p < last; p++) {
            if (*p < '0' || *p > '9') {
                return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
            }
        }

        if (value.data[0] == '-') {
            return NGX_HTTP_BLOB_ERR_OUT_OF_RANGE_QUERY_PARAMETER_VALUE;
        }

        n = ngx_atoi(value.data, value.len);

        if (n == NGX_ERROR || n > 0x7fffffff) {
            /* beyond an int32, as Azure parses it */
            return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
        }

        if (n == 0) {
            return NGX_HTTP_BLOB_ERR_OUT_OF_RANGE_QUERY_PARAMETER_VALUE;
        }

        lst->has_max = 1;
        lst->max_sent = n;

        if ((ngx_uint_t) n < lst->max) {
            lst->max = n;
        }

        ngx_str_null(&detail->query_name);
        ngx_str_null(&detail->query_value);
    }

    /* include: repeated, or comma-separated, or both */

    snapshots = 0;

    p = r->args.data;
    last = p + r->args.len;

    for ( /* void */ ; p < last; p = end + 1) {

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) < sizeof("include=") - 1
            || ngx_strncmp(p, "include=", sizeof("include=") - 1) != 0)
        {
            continue;
        }

        raw.data = p + sizeof("include=") - 1;
        raw.len = end - raw.data;

        if (ngx_http_blob_unescape(r->pool, &raw, &value, 1) != NGX_OK
            || ngx_http_blob_list_include(lst, &value, &snapshots) != NGX_OK)
        {
            ngx_str_set(&detail->query_name, "include");
            detail->query_value = raw;
            return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
        }
    }

    if (snapshots && delimiter) {
        /* Azure: snapshots cannot be listed in a hierarchy */
        ngx_str_set(&detail->query_name, "include");
        ngx_str_set(&detail->query_value, "snapshots");
        ngx_str_set(&detail->reason,
                    "Snapshots cannot be listed with a delimiter");
        return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
    }

    return NGX_HTTP_BLOB_OK;

bad_marker:

    ngx_str_set(&detail->query_name, "marker");
    detail->query_value = lst->marker;

    return NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE;
}


/*
 * Datasets a listing can include.  Those this store has nothing of (no
 * snapshots, versions, soft delete, tags, copies, immutability) are
 * accepted and add nothing, as on an account without these features.
 */

static ngx_int_t
ngx_http_blob_list_include(ngx_http_blob_list_t *lst, ngx_str_t *value,
    ngx_uint_t *snapshots)
{
    u_char      *p, *last, *comma;
    size_t       len;
    ngx_uint_t   i;

    static ngx_str_t  accepted[] = {
        ngx_string("copy"),
        ngx_string("deleted"),
        ngx_string("tags"),
        ngx_string("versions"),
        ngx_string("deletedwithversions"),
        ngx_string("immutabilitypolicy"),
        ngx_string("legalhold"),
        ngx_string("permissions"),
        ngx_null_string
    };

    p = value->data;
    last = p + value->len;

    for ( ;; ) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        len = comma - p;

        if (len == 0) {
            /* "include=" or "metadata,,copy": nothing asked */

        } else if (len == sizeof("metadata") - 1
            && ngx_strncasecmp(p, (u_char *) "metadata", len) == 0)
        {
            lst->metadata = 1;

        } else if (len == sizeof("uncommittedblobs") - 1
                   && ngx_strncasecmp(p, (u_char *) "uncommittedblobs", len)
                      == 0)
        {
            lst->uncommitted = 1;

        } else if (len == sizeof("snapshots") - 1
                   && ngx_strncasecmp(p, (u_char *) "snapshots", len) == 0)
        {
            *snapshots = 1;

        } else {
            for (i = 0; accepted[i].len; i++) {
                if (len == accepted[i].len
                    && ngx_strncasecmp(p, accepted[i].data, len) == 0)
                {
                    break;
                }
            }

            if (accepted[i].len == 0) {
                return NGX_ERROR;
            }
        }

        if (comma == last) {
            return NGX_OK;
        }

        p = comma + 1;
    }
}


static void
ngx_http_blob_list_work(ngx_http_blob_ctx_t *ctx)
{
    ngx_http_blob_list_t  *lst;

    lst = ctx->op_data;

    if (ngx_http_blob_list_start(ctx, lst) != NGX_OK) {
        if (ctx->error == NGX_HTTP_BLOB_OK) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }
    }
}


static ngx_int_t
ngx_http_blob_list_start(ngx_http_blob_ctx_t *ctx, ngx_http_blob_list_t *lst)
{
    u_char           *p, *seg, *last;
    size_t            plen;
    ngx_pool_t       *pool;
    ngx_file_info_t   fi;

    pool = ctx->task_pool;

    if (ngx_link_info(ctx->container_path.data, &fi) == NGX_FILE_ERROR) {
        ctx->err = ngx_errno;

        if (ctx->err == NGX_ENOENT || ctx->err == NGX_ENOTDIR) {
            ctx->error = NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND;
            return NGX_ERROR;
        }

        ctx->failed = ngx_link_info_n;
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        return NGX_ERROR;
    }

    if (!ngx_is_dir(&fi)) {
        ctx->error = NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND;
        return NGX_ERROR;
    }

    if (ngx_array_init(&lst->items, pool, 64,
                       sizeof(ngx_http_blob_list_item_t))
        != NGX_OK
        || ngx_array_init(&lst->frames, pool, 16,
                          sizeof(ngx_http_blob_list_frame_t))
           != NGX_OK
        || ngx_array_init(&lst->unc, pool, 4,
                          sizeof(ngx_http_blob_list_item_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* nothing can match a prefix longer than any name */

    if (lst->prefix.len > NGX_HTTP_BLOB_MAX_NAME) {
        return NGX_OK;
    }

    lst->lo = (ngx_memn2cmp(lst->start.data, lst->prefix.data,
                            lst->start.len, lst->prefix.len) > 0)
              ? lst->start : lst->prefix;

    lst->keep = ngx_max(lst->max + 2, NGX_HTTP_BLOB_LIST_MIN_KEEP);

    lst->base_len = ctx->container_path.len + 1;

    lst->path = ngx_pnalloc(pool, lst->base_len + NGX_HTTP_BLOB_MAX_NAME
                                  + NGX_HTTP_BLOB_MAX_SEGMENT + 4);
    if (lst->path == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(lst->path, ctx->container_path.data,
                   ctx->container_path.len);
    *p++ = '/';

    if (lst->uncommitted) {
        if (ngx_http_blob_list_uncommitted(ctx, lst) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /*
     * Start in the directory of the prefix.  Its segments are checked as
     * a blob name's are: "..", or a symlink, must not lead the walk out of
     * the container.
     */

    seg = lst->prefix.data;
    last = seg + lst->prefix.len;
    plen = 0;

    for (p = seg; p < last; p++) {

        if (*p != '/') {
            continue;
        }

        if (p == seg
            || (p - seg == 1 && seg[0] == '.')
            || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
        {
            goto flush;
        }

        plen = p + 1 - lst->prefix.data;

        ngx_memcpy(lst->path + lst->base_len, lst->prefix.data, plen - 1);
        lst->path[lst->base_len + plen - 1] = '\0';

        if (ngx_link_info(lst->path, &fi) == NGX_FILE_ERROR
            || !ngx_is_dir(&fi))
        {
            goto flush;
        }

        seg = p + 1;
    }

    if (plen) {
        ngx_memcpy(lst->path + lst->base_len, lst->prefix.data, plen);
    }

    if (ngx_http_blob_list_push(ctx, lst, plen) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_blob_list_walk(ctx, lst) != NGX_OK) {
        return NGX_ERROR;
    }

flush:

    /* uncommitted blobs after the last file, or with no directory at all */

    return ngx_http_blob_list_flush(ctx, lst, NULL, 0);
}


static ngx_int_t
ngx_http_blob_list_walk(ngx_http_blob_ctx_t *ctx, ngx_http_blob_list_t *lst)
{
    u_char                      *key;
    size_t                       len;
    ngx_str_t                    name;
    ngx_file_info_t              fi;
    ngx_http_blob_list_entry_t  *e;
    ngx_http_blob_list_frame_t  *f;

    key = lst->path + lst->base_len;

    while (!lst->stop && lst->frames.nelts) {

        f = (ngx_http_blob_list_frame_t *) lst->frames.elts
            + lst->frames.nelts - 1;

        if (f->next == f->n) {

            if (f->truncated) {
                /* the directory had more than was kept: read on */
                f->after = f->entries[f->n - 1].name;

                if (ngx_http_blob_list_load(ctx, lst, f) != NGX_OK) {
                    return NGX_ERROR;
                }

                continue;
            }

            lst->stack_cost -= f->cost;

            if (f->entries) {
                /* a large allocation goes back at once */
                (void) ngx_pfree(ctx->task_pool, f->entries);
            }

            lst->frames.nelts--;
            continue;
        }

        e = &f->entries[f->next];

        ngx_memcpy(key + f->plen, e->name.data, e->name.len);
        len = f->plen + e->name.len;

        if (!ngx_http_blob_list_relevant(lst, key, len, e->dir)) {
            f->next++;
            continue;
        }

        /* uncommitted blobs that sort before this entry come first */

        if (lst->unc_next < lst->unc.nelts) {
            if (ngx_http_blob_list_flush(ctx, lst, key, len) != NGX_OK) {
                return NGX_ERROR;
            }

            if (lst->stop) {
                break;
            }

            /* a BlobPrefix may have moved the lower bound past the entry */

            if (!ngx_http_blob_list_relevant(lst, key, len, e->dir)) {
                f->next++;
                continue;
            }
        }

        /*
         * The next page would read again the directories on the stack and
         * nothing else of what this one did: past the bound, end here.
         */

        if (lst->work - lst->stack_cost > NGX_HTTP_BLOB_LIST_WORK
            && ngx_memn2cmp(key, lst->start.data, len, lst->start.len) > 0)
        {
            lst->next.data = ngx_pnalloc(ctx->task_pool, len);
            if (lst->next.data == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(lst->next.data, key, len);
            lst->next.len = len;
            lst->stop = 1;
            break;
        }

        f->next++;

        if (e->dir) {
            if (ngx_http_blob_list_push(ctx, lst, len) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        key[len] = '\0';
        lst->work++;

        if (ngx_link_info(lst->path, &fi) == NGX_FILE_ERROR
            || !ngx_is_file(&fi))
        {
            /* gone, or replaced, since the directory was read */
            continue;
        }

        name.data = key;
        name.len = len;

        if (ngx_http_blob_list_emit(ctx, lst, &name, &fi, NULL) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_list_push(ngx_http_blob_ctx_t *ctx, ngx_http_blob_list_t *lst,
    size_t plen)
{
    ngx_http_blob_list_frame_t  *f;

    f = ngx_array_push(&lst->frames);
    if (f == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(f, sizeof(ngx_http_blob_list_frame_t));

    f->plen = plen;

    return ngx_http_blob_list_load(ctx, lst, f);
}


/*
 * Reads a directory into its frame: the entries the walk can use, sorted,
 * at most 2 * keep of them at any time.  When that fills up, the upper
 * half is dropped and the directory is marked to be read again from where
 * the kept entries end.
 */

static ngx_int_t
ngx_http_blob_list_load(ngx_http_blob_ctx_t *ctx, ngx_http_blob_list_t *lst,
    ngx_http_blob_list_frame_t *f)
{
    u_char                      *key, *name, *cutoff;
    size_t                       len, cutoff_len;
    ngx_err_t                    err;
    ngx_str_t                    path;
    ngx_dir_t                    dir;
    ngx_uint_t                   is_dir, cost;
    ngx_http_blob_list_entry_t  *e;

    key = lst->path + lst->base_len;

    lst->stack_cost -= f->cost;

    f->n = 0;
    f->next = 0;
    f->truncated = 0;
    f->cost = 0;

    cutoff = NULL;
    cutoff_len = 0;
    cost = 0;

    key[f->plen] = '\0';

    path.data = lst->path;
    path.len = lst->base_len + f->plen;

    if (ngx_open_dir(&path, &dir) == NGX_ERROR) {
        err = ngx_errno;

        /* removed, or replaced by a file, since its parent was read */

        if (err == NGX_ENOENT || err == NGX_ENOTDIR) {
            return NGX_OK;
        }

        ctx->err = err;
        ctx->failed = ngx_open_dir_n;
        ctx->error = ngx_http_blob_errno_error(err);
        return NGX_ERROR;
    }

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            err = ngx_errno;

            if (err != NGX_ENOMOREFILES) {
                ctx->err = err;
                ctx->failed = ngx_read_dir_n;
                ctx->error = ngx_http_blob_errno_error(err);
                (void) ngx_close_dir(&dir);
                return NGX_ERROR;
            }

            break;
        }

        cost++;

        name = ngx_de_name(&dir);
        len = ngx_de_namelen(&dir);

        if (name[0] == '.'
            && (len == 1 || (len == 2 && name[1] == '.')))
        {
            continue;
        }

        if (f->plen + len > NGX_HTTP_BLOB_MAX_NAME
            || ngx_http_blob_list_name_check(name, len) == NGX_ERROR)
        {
            /* no blob can have such a name */
            continue;
        }

        switch (dir.type) {

        case DT_DIR:
            is_dir = 1;
            break;

        case DT_REG:
            is_dir = 0;
            break;

        case DT_UNKNOWN:
            /* some filesystems do not say: ask, without following links */
            ngx_memcpy(key + f->plen, name, len + 1);
            cost++;

            if (ngx_de_link_info(lst->path, &dir) == NGX_FILE_ERROR) {
                continue;
            }

            if (S_ISDIR(dir.info.st_mode)) {
                is_dir = 1;

            } else if (S_ISREG(dir.info.st_mode)) {
                is_dir = 0;

            } else {
                continue;
            }

            break;

        default:
            /* symlinks, sockets, devices: not blobs */
            continue;
        }

        if (is_dir && f->plen + len + 1 >= NGX_HTTP_BLOB_MAX_NAME) {
            /* nor can anything below it */
            continue;
        }

        ngx_memcpy(key + f->plen, name, len);

        if (is_dir) {
            key[f->plen + len] = '/';
        }

        if (!ngx_http_blob_list_relevant(lst, key, f->plen + len + is_dir,
                                         is_dir))
        {
            continue;
        }

        name = key + f->plen;
        len += is_dir;

        if (f->after.len
            && ngx_http_blob_list_cmp(name, len, f->after.data, f->after.len)
               <= 0)
        {
            continue;
        }

        if (cutoff
            && ngx_http_blob_list_cmp(name, len, cutoff, cutoff_len) > 0)
        {
            continue;
        }

        if (ngx_http_blob_list_add(ctx, f, name, len, is_dir) != NGX_OK) {
            (void) ngx_close_dir(&dir);
            return NGX_ERROR;
        }

        if (f->n == 2 * lst->keep) {
            ngx_qsort(f->entries, f->n, sizeof(ngx_http_blob_list_entry_t),
                      ngx_http_blob_list_cmp_entries);

            f->n = lst->keep;
            f->truncated = 1;

            e = &f->entries[f->n - 1];
            cutoff = e->name.data;
            cutoff_len = e->name.len;
        }
    }

    (void) ngx_close_dir(&dir);

    /* an empty directory has no entries array: qsort(NULL, 0) is UB */

    if (f->n > 1) {
        ngx_qsort(f->entries, f->n, sizeof(ngx_http_blob_list_entry_t),
                  ngx_http_blob_list_cmp_entries);
    }

    f->cost = cost;
    lst->work += cost;
    lst->stack_cost += cost;

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_list_add(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_frame_t *f, u_char *name, size_t len, ngx_uint_t dir)
{
    ngx_uint_t                   nalloc;
    ngx_http_blob_list_entry_t  *e;

    if (f->n == f->nalloc) {
        nalloc = f->nalloc ? 2 * f->nalloc : 16;

        e = ngx_palloc(ctx->task_pool,
                       nalloc * sizeof(ngx_http_blob_list_entry_t));
        if (e == NULL) {
            return NGX_ERROR;
        }

        if (f->n) {
            ngx_memcpy(e, f->entries,
                       f->n * sizeof(ngx_http_blob_list_entry_t));
        }

        if (f->entries) {
            /* a large allocation goes back at once */
            (void) ngx_pfree(ctx->task_pool, f->entries);
        }

        f->entries = e;
        f->nalloc = nalloc;
    }

    e = &f->entries[f->n];

    e->name.data = ngx_pnalloc(ctx->task_pool, len);
    if (e->name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(e->name.data, name, len);
    e->name.len = len;
    e->dir = dir;

    f->n++;

    return NGX_OK;
}


/*
 * A file is relevant when its name starts with the prefix and is not below
 * the lower bound; a directory also when it is on the way to either.
 */

static ngx_uint_t
ngx_http_blob_list_relevant(ngx_http_blob_list_t *lst, u_char *key,
    size_t len, ngx_uint_t dir)
{
    if (!ngx_http_blob_list_starts(key, len, &lst->prefix)) {

        if (!dir || len > lst->prefix.len
            || ngx_memcmp(key, lst->prefix.data, len) != 0)
        {
            return 0;
        }
    }

    if (ngx_http_blob_list_cmp(key, len, lst->lo.data, lst->lo.len) >= 0) {
        return 1;
    }

    /* a directory on the way to the lower bound */

    return dir && lst->lo.len >= len
           && ngx_memcmp(lst->lo.data, key, len) == 0;
}


/* emits the uncommitted blobs that sort before key (all: key NULL) */

static ngx_int_t
ngx_http_blob_list_flush(ngx_http_blob_ctx_t *ctx, ngx_http_blob_list_t *lst,
    u_char *key, size_t len)
{
    ngx_http_blob_list_item_t  *u;

    while (!lst->stop && lst->unc_next < lst->unc.nelts) {

        u = (ngx_http_blob_list_item_t *) lst->unc.elts + lst->unc_next;

        if (key
            && ngx_http_blob_list_cmp(u->name.data, u->name.len, key, len)
               >= 0)
        {
            break;
        }

        lst->unc_next++;

        if (ngx_http_blob_list_cmp(u->name.data, u->name.len,
                                   lst->lo.data, lst->lo.len) < 0)
        {
            continue;
        }

        if (ngx_http_blob_list_emit(ctx, lst, &u->name, NULL, u) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * One more name in order: it becomes a Blob, or the BlobPrefix it falls
 * in; when the page is full, it tells that there is a next page.
 */

static ngx_int_t
ngx_http_blob_list_emit(ngx_http_blob_ctx_t *ctx, ngx_http_blob_list_t *lst,
    ngx_str_t *name, ngx_file_info_t *fi, ngx_http_blob_list_item_t *unc)
{
    u_char                     *p, *d, *last;
    size_t                      len;
    ngx_str_t                   state;
    ngx_http_blob_list_item_t  *item;

    len = name->len;
    d = NULL;

    if (lst->delimiter.len) {
        p = name->data + lst->prefix.len;
        last = name->data + name->len;

        for ( /* void */ ; p + lst->delimiter.len <= last; p++) {
            if (*p == lst->delimiter.data[0]
                && ngx_memcmp(p, lst->delimiter.data, lst->delimiter.len)
                   == 0)
            {
                d = p;
                len = d + lst->delimiter.len - name->data;
                break;
            }
        }
    }

    if (lst->items.nelts == lst->max) {
        /*
         * There is more: the next page starts right after the last entry
         * of this one, so that what is added meanwhile is not skipped.
         * Right after a blob "n" is "n\0", as no name holds NUL; right
         * after a BlobPrefix is where the lower bound now is.
         */

        item = (ngx_http_blob_list_item_t *) lst->items.elts
               + lst->items.nelts - 1;

        if (item->prefix) {
            lst->next = lst->lo;

        } else {
            lst->next.len = item->name.len + 1;
            lst->next.data = item->name.data;
            item->name.data[item->name.len] = '\0';
        }

        lst->stop = 1;

        return NGX_OK;
    }

    item = ngx_array_push(&lst->items);
    if (item == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(item, sizeof(ngx_http_blob_list_item_t));

    item->name.data = ngx_pnalloc(ctx->task_pool, len + 1);
    if (item->name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(item->name.data, name->data, len);
    item->name.len = len;

    if (d) {
        item->prefix = 1;

        /*
         * Nothing more can come from this prefix: the lower bound moves to
         * the first key above every name that starts with it.
         */

        p = item->name.data + len;

        while (p > item->name.data && p[-1] == 0xff) {
            p--;
        }

        if (p == item->name.data) {
            lst->stop = 1;
            return NGX_OK;
        }

        lst->lo.data = ngx_pnalloc(ctx->task_pool, p - item->name.data);
        if (lst->lo.data == NULL) {
            return NGX_ERROR;
        }

        lst->lo.len = p - item->name.data;
        ngx_memcpy(lst->lo.data, item->name.data, lst->lo.len);
        lst->lo.data[lst->lo.len - 1]++;

        return NGX_OK;
    }

    if (unc) {
        item->uncommitted = 1;
        item->props.creation_time = unc->props.creation_time;
        return NGX_OK;
    }

    if (ngx_http_blob_store_state_dir(ctx->task_pool, &ctx->account_root,
                                      &ctx->container, &item->name, &state)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    lst->work += 2;

    return ngx_http_blob_store_load_props(ctx->task_pool, ctx, &state, fi,
                                          &item->props);
}


/*
 * Blobs with uncommitted blocks only have a state directory and no file:
 * <root>/.blob/state/<container>/<hh>/<hash>/ with "name" and "b-*".
 * Azure keeps them a week at most, so there are few; they are collected
 * whole, sorted, and merged into the walk.
 */

static ngx_int_t
ngx_http_blob_list_uncommitted(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst)
{
    u_char     *path, *p;
    size_t      len, n;
    ngx_err_t   err;
    ngx_str_t   name;
    ngx_dir_t   dir;
    ngx_int_t   rc;

    len = ctx->account_root.len
          + sizeof("/" NGX_HTTP_BLOB_STATE_DIR "/state/") - 1
          + ctx->container.len + 1;

    path = ngx_pnalloc(ctx->task_pool, len + NAME_MAX + 1 + NAME_MAX
                                       + sizeof("/name"));
    if (path == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/state/%V%Z",
                    &ctx->account_root, &ctx->container);

    name.data = path;
    name.len = p - 1 - path;

    if (ngx_open_dir(&name, &dir) == NGX_ERROR) {
        err = ngx_errno;

        if (err == NGX_ENOENT || err == NGX_ENOTDIR) {
            return NGX_OK;
        }

        ctx->err = err;
        ctx->failed = ngx_open_dir_n;
        ctx->error = ngx_http_blob_errno_error(err);
        return NGX_ERROR;
    }

    path[len - 1] = '/';

    rc = NGX_OK;

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            if (ngx_errno != NGX_ENOMOREFILES) {
                ctx->err = ngx_errno;
                ctx->failed = ngx_read_dir_n;
                rc = NGX_ERROR;
            }

            break;
        }

        n = ngx_de_namelen(&dir);

        if (n != 2 || ngx_de_name(&dir)[0] == '.') {
            continue;
        }

        p = ngx_cpymem(path + len, ngx_de_name(&dir), n);
        *p = '\0';

        if (ngx_http_blob_list_uncommitted_dir(ctx, lst, path, p - path)
            != NGX_OK)
        {
            rc = NGX_ERROR;
            break;
        }
    }

    (void) ngx_close_dir(&dir);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_qsort(lst->unc.elts, lst->unc.nelts,
              sizeof(ngx_http_blob_list_item_t),
              ngx_http_blob_list_cmp_items);

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_list_uncommitted_dir(ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_list_t *lst, u_char *path, size_t len)
{
    u_char                     *p, *blob;
    size_t                      n;
    ssize_t                     size;
    ngx_fd_t                    fd;
    ngx_str_t                   name;
    ngx_dir_t                   dir, state;
    ngx_uint_t                  blocks;
    ngx_file_info_t             fi;
    ngx_http_blob_list_item_t  *item;
    u_char                      buf[NGX_HTTP_BLOB_MAX_NAME + 1];

    name.data = path;
    name.len = len;

    if (ngx_open_dir(&name, &dir) == NGX_ERROR) {
        return NGX_OK;
    }

    path[len] = '/';

    for ( ;; ) {
        if (ngx_read_dir(&dir) == NGX_ERROR) {
            break;
        }

        n = ngx_de_namelen(&dir);

        if (ngx_de_name(&dir)[0] == '.') {
            continue;
        }

        p = ngx_cpymem(path + len + 1, ngx_de_name(&dir), n);
        *p = '\0';

        name.len = p - path;

        if (ngx_open_dir(&name, &state) == NGX_ERROR) {
            continue;
        }

        blocks = 0;

        while (ngx_read_dir(&state) == NGX_OK) {
            if (ngx_de_namelen(&state) > 2
                && ngx_de_name(&state)[0] == 'b'
                && ngx_de_name(&state)[1] == '-')
            {
                blocks = 1;
                break;
            }
        }

        (void) ngx_close_dir(&state);

        if (!blocks) {
            continue;
        }

        ngx_memcpy(p, "/name", sizeof("/name"));

        fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            continue;
        }

        size = -1;

        if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR) {
            size = read(fd, buf, sizeof(buf));
        }

        (void) ngx_close_file(fd);

        if (size <= 0 || size > NGX_HTTP_BLOB_MAX_NAME) {
            continue;
        }

        name.data = buf;
        name.len = size;

        if (!ngx_http_blob_blob_name_valid(&name)
            || ngx_http_blob_list_name_check(buf, size) == NGX_ERROR
            || !ngx_http_blob_list_starts(buf, size, &lst->prefix)
            || ngx_http_blob_list_cmp(buf, size, lst->lo.data, lst->lo.len)
               < 0)
        {
            continue;
        }

        /* a committed blob of that name is listed as such */

        blob = lst->path;
        ngx_memcpy(blob + lst->base_len, buf, size);
        blob[lst->base_len + size] = '\0';

        if (ngx_link_info(blob, &fi) != NGX_FILE_ERROR && ngx_is_file(&fi)) {
            continue;
        }

        item = ngx_array_push(&lst->unc);
        if (item == NULL) {
            (void) ngx_close_dir(&dir);
            return NGX_ERROR;
        }

        ngx_memzero(item, sizeof(ngx_http_blob_list_item_t));

        item->name.data = ngx_pnalloc(ctx->task_pool, size);
        if (item->name.data == NULL) {
            (void) ngx_close_dir(&dir);
            return NGX_ERROR;
        }

        ngx_memcpy(item->name.data, buf, size);
        item->name.len = size;
        item->props.creation_time = ngx_file_mtime(&fi);
        item->uncommitted = 1;
    }

    (void) ngx_close_dir(&dir);

    return NGX_OK;
}


static void
ngx_http_blob_list_done(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    u_char                     *p;
    ngx_str_t                   endpoint, next, s;
    ngx_uint_t                  i;
    ngx_http_blob_xml_t         x;
    ngx_http_blob_list_t       *lst;
    ngx_http_blob_list_item_t  *item;

    lst = ctx->op_data;

    if (ctx->error != NGX_HTTP_BLOB_OK) {
        ngx_http_blob_finalize(r, ngx_http_blob_error(r, ctx->error, NULL));
        return;
    }

    if (ngx_http_blob_xml_endpoint(r, ctx, &endpoint) != NGX_OK
        || ngx_http_blob_xml_init(&x, r->pool) != NGX_OK)
    {
        ngx_http_blob_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_blob_xml_cstr(&x, "<EnumerationResults ServiceEndpoint=\"");
    ngx_http_blob_xml_text(&x, &endpoint);
    ngx_http_blob_xml_cstr(&x, "\" ContainerName=\"");
    ngx_http_blob_xml_text(&x, &ctx->container);
    ngx_http_blob_xml_cstr(&x, "\">");

    if (lst->has_prefix) {
        ngx_http_blob_xml_element(&x, "Prefix", &lst->prefix);
    }

    if (lst->has_marker) {
        ngx_http_blob_xml_element(&x, "Marker", &lst->marker);
    }

    if (lst->has_max) {
        ngx_http_blob_xml_open(&x, "MaxResults");
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            ngx_http_blob_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        s.data = p;
        s.len = ngx_sprintf(p, "%ui", lst->max_sent) - p;
        ngx_http_blob_xml_text(&x, &s);
        ngx_http_blob_xml_close(&x, "MaxResults");
    }

    if (lst->delimiter.len) {
        ngx_http_blob_xml_element(&x, "Delimiter", &lst->delimiter);
    }

    if (lst->items.nelts == 0) {
        ngx_http_blob_xml_cstr(&x, "<Blobs />");

    } else {
        ngx_http_blob_xml_open(&x, "Blobs");

        item = lst->items.elts;

        for (i = 0; i < lst->items.nelts; i++) {

            if (item[i].prefix) {
                ngx_http_blob_xml_open(&x, "BlobPrefix");
                ngx_http_blob_list_write_name(&x, &item[i].name);
                ngx_http_blob_xml_close(&x, "BlobPrefix");
                continue;
            }

            ngx_http_blob_list_write_blob(r, &x, lst, &item[i]);
        }

        ngx_http_blob_xml_close(&x, "Blobs");
    }

    ngx_str_null(&next);

    if (lst->next.len) {
        next.len = sizeof(NGX_HTTP_BLOB_LIST_MARKER) - 1
                   + ngx_base64_encoded_length(lst->next.len);
        next.data = ngx_pnalloc(r->pool, next.len);
        if (next.data == NULL) {
            ngx_http_blob_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        p = ngx_cpymem(next.data, NGX_HTTP_BLOB_LIST_MARKER,
                       sizeof(NGX_HTTP_BLOB_LIST_MARKER) - 1);

        s.data = p;
        ngx_encode_base64url(&s, &lst->next);
        next.len = p - next.data + s.len;
    }

    ngx_http_blob_xml_element(&x, "NextMarker", &next);
    ngx_http_blob_xml_cstr(&x, "</EnumerationResults>");

    ngx_http_blob_finalize(r, ngx_http_blob_xml_send(r, ctx, NGX_HTTP_OK,
                                                     &x));
}


/*
 * A name with characters XML 1.0 cannot carry goes out percent-encoded,
 * marked Encoded="true", as Azure does; the SDKs decode it.
 */

static void
ngx_http_blob_list_write_name(ngx_http_blob_xml_t *x, ngx_str_t *name)
{
    u_char     *p, *last, *d;
    ngx_str_t   encoded;

    static u_char  hex[] = "0123456789ABCDEF";

    if (ngx_http_blob_list_name_check(name->data, name->len) != NGX_DECLINED)
    {
        ngx_http_blob_xml_element(x, "Name", name);
        return;
    }

    encoded.data = ngx_pnalloc(x->pool, 3 * name->len);
    if (encoded.data == NULL) {
        x->failed = 1;
        return;
    }

    d = encoded.data;
    last = name->data + name->len;

    for (p = name->data; p < last; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
            || (*p >= '0' && *p <= '9')
            || *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '/')
        {
            *d++ = *p;
            continue;
        }

        *d++ = '%';
        *d++ = hex[*p >> 4];
        *d++ = hex[*p & 0xf];
    }

    encoded.len = d - encoded.data;

    ngx_http_blob_xml_cstr(x, "<Name Encoded=\"true\">");
    ngx_http_blob_xml_text(x, &encoded);
    ngx_http_blob_xml_close(x, "Name");
}


/*
 * The Properties elements in the order Azure writes them; clients parse
 * Content-MD5 (rclone compares it), Etag and Last-Modified (sync tools).
 */

static void
ngx_http_blob_list_write_blob(ngx_http_request_t *r, ngx_http_blob_xml_t *x,
    ngx_http_blob_list_t *lst, ngx_http_blob_list_item_t *item)
{
    u_char                 *p;
    ngx_str_t               etag, md5, src;
    ngx_uint_t              i;
    ngx_keyval_t           *kv;
    ngx_http_blob_props_t  *props;

    props = &item->props;

    ngx_http_blob_xml_open(x, "Blob");
    ngx_http_blob_list_write_name(x, &item->name);
    ngx_http_blob_xml_open(x, "Properties");

    ngx_http_blob_xml_element_time(x, "Creation-Time", props->creation_time);

    if (item->uncommitted) {
        /* Azure leaves out what a blob without content cannot have */
        ngx_http_blob_xml_element_off(x, "Content-Length", 0);
        ngx_http_blob_xml_cstr(x, "<BlobType>BlockBlob</BlobType>"
                                  "<LeaseStatus>unlocked</LeaseStatus>"
                                  "<LeaseState>available</LeaseState>"
                                  "<ServerEncrypted>true</ServerEncrypted>"
                                  "</Properties></Blob>");
        return;
    }

    ngx_http_blob_xml_element_time(x, "Last-Modified", props->mtime);

    if (ngx_http_blob_etag_format(r->pool, props->etag, 0, &etag) != NGX_OK) {
        x->failed = 1;
        return;
    }

    ngx_http_blob_xml_element(x, "Etag", &etag);
    ngx_http_blob_xml_element_off(x, "Content-Length", props->size);

    if (props->content_type.len) {
        ngx_http_blob_xml_element(x, "Content-Type", &props->content_type);

    } else {
        ngx_http_blob_xml_element_cstr(x, "Content-Type",
                                       "application/octet-stream");
    }

    ngx_http_blob_xml_element(x, "Content-Encoding",
                              &props->content_encoding);
    ngx_http_blob_xml_element(x, "Content-Language",
                              &props->content_language);

    ngx_str_null(&md5);

    if (props->has_md5) {
        p = ngx_pnalloc(r->pool, ngx_base64_encoded_length(16));
        if (p == NULL) {
            x->failed = 1;
            return;
        }

        md5.data = p;
        src.data = props->content_md5;
        src.len = 16;
        ngx_encode_base64(&md5, &src);
    }

    ngx_http_blob_xml_element(x, "Content-MD5", &md5);
    ngx_http_blob_xml_element(x, "Cache-Control", &props->cache_control);
    ngx_http_blob_xml_element(x, "Content-Disposition",
                              &props->content_disposition);

    ngx_http_blob_xml_cstr(x, "<BlobType>BlockBlob</BlobType>"
                              "<AccessTier>Hot</AccessTier>"
                              "<AccessTierInferred>true</AccessTierInferred>"
                              "<LeaseStatus>unlocked</LeaseStatus>"
                              "<LeaseState>available</LeaseState>"
                              "<ServerEncrypted>true</ServerEncrypted>"
                              "</Properties>");

    if (lst->metadata) {
        if (props->metadata.nelts == 0) {
            ngx_http_blob_xml_cstr(x, "<Metadata />");

        } else {
            ngx_http_blob_xml_open(x, "Metadata");

            kv = props->metadata.elts;

            for (i = 0; i < props->metadata.nelts; i++) {
                /* names are C# identifiers: safe as element names */
                ngx_http_blob_xml_raw(x, (u_char *) "<", 1);
                ngx_http_blob_xml_raw(x, kv[i].key.data, kv[i].key.len);
                ngx_http_blob_xml_raw(x, (u_char *) ">", 1);
                ngx_http_blob_xml_text(x, &kv[i].value);
                ngx_http_blob_xml_raw(x, (u_char *) "</", 2);
                ngx_http_blob_xml_raw(x, kv[i].key.data, kv[i].key.len);
                ngx_http_blob_xml_raw(x, (u_char *) ">", 1);
            }

            ngx_http_blob_xml_close(x, "Metadata");
        }
    }

    ngx_http_blob_xml_close(x, "Blob");
}


static int ngx_libc_cdecl
ngx_http_blob_list_cmp_entries(const void *one, const void *two)
{
    const ngx_http_blob_list_entry_t  *a = one;
    const ngx_http_blob_list_entry_t  *b = two;

    return (int) ngx_http_blob_list_cmp(a->name.data, a->name.len,
                                        b->name.data, b->name.len);
}


static int ngx_libc_cdecl
ngx_http_blob_list_cmp_items(const void *one, const void *two)
{
    const ngx_http_blob_list_item_t  *a = one;
    const ngx_http_blob_list_item_t  *b = two;

    return (int) ngx_http_blob_list_cmp(a->name.data, a->name.len,
                                        b->name.data, b->name.len);
}


/* byte order, a prefix first: the order Azure lists names in */

static ngx_int_t
ngx_http_blob_list_cmp(u_char *a, size_t alen, u_char *b, size_t blen)
{
    int  rc;

    /* an empty name may be {0, NULL}: memcmp(NULL, ..., 0) is UB */

    rc = (alen && blen) ? ngx_memcmp(a, b, ngx_min(alen, blen)) : 0;

    if (rc != 0) {
        return rc < 0 ? -1 : 1;
    }

    if (alen == blen) {
        return 0;
    }

    return alen < blen ? -1 : 1;
}


static ngx_uint_t
ngx_http_blob_list_starts(u_char *s, size_t len, ngx_str_t *prefix)
{
    return len >= prefix->len
           && (prefix->len == 0
               || ngx_memcmp(s, prefix->data, prefix->len) == 0);
}


/*
 * NGX_ERROR: not UTF-8, so not a blob name; NGX_DECLINED: UTF-8 with
 * characters XML 1.0 cannot hold; NGX_OK: plain.  The decoding is strict:
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */

static ngx_int_t
ngx_http_blob_list_name_check(u_char *p, size_t len)
{
    u_char     *last;
    size_t      n, i;
    uint32_t    u, min;
    ngx_int_t   rc;

    rc = NGX_OK;
    last = p + len;

    while (p < last) {

        u = *p;

        if (u < 0x80) {
            if (u < 0x20 && u != '\t' && u != '\n' && u != '\r') {
                rc = NGX_DECLINED;
            }

            p++;
            continue;
        }

        if (u >= 0xc2 && u <= 0xdf) {
            n = 2;
            u &= 0x1f;
            min = 0x80;

        } else if (u >= 0xe0 && u <= 0xef) {
            n = 3;
            u &= 0x0f;
            min = 0x800;

        } else if (u >= 0xf0 && u <= 0xf4) {
            n = 4;
            u &= 0x07;
            min = 0x10000;

        } else {
            return NGX_ERROR;
        }

        if ((size_t) (last - p) < n) {
            return NGX_ERROR;
        }

        for (i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return NGX_ERROR;
            }

            u = (u << 6) | (p[i] & 0x3f);
        }

        if (u < min || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
            return NGX_ERROR;
        }

        if (u == 0xfffe || u == 0xffff) {
            rc = NGX_DECLINED;
        }

        p += n;
    }

    return rc;
}

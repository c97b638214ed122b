
/*
 * ngx_blob_module: a worker's cache of blob properties files.
 *
 * A blob's properties live in a sidecar named by the blob's ETag
 * (<state>/m-<etag>), and the ETag changes with every change of the blob,
 * its properties or its metadata: a sidecar is never rewritten, a new
 * version gets a new name.  So what the sidecar for (blob path, ETag) says
 * never changes, on any host, and a copy kept in worker memory needs no
 * invalidation: a read still opens and stats the blob (in a thread task,
 * or on the event loop when that cannot wait: blob_cached_reads), which
 * gives the current ETag and 404 for a deleted blob, and takes the cached
 * properties only when the ETag is the one they were read for.  What it
 * saves is the open, read, close and parse of the sidecar: round trips on
 * NFS, and most of the CPU of a Get Blob Properties.  On a local root it
 * also keeps the default properties of a file that has no sidecar
 * (ngx_http_blob_store_load_props() says when that is safe).
 *
 * Entries are a bounded LRU (blob_properties_cache); only the event loop
 * touches the cache, so it needs no lock.  Memory comes from ngx_alloc(),
 * as in nginx's open_file_cache: entries live and die one at a time.
 */


#include "ngx_http_blob_module.h"


/* properties bigger than this (long metadata) are read every time */
#define NGX_HTTP_BLOB_PROPS_CACHE_ENTRY_MAX  4096


typedef struct {
    ngx_rbtree_node_t            node;      /* key: crc32 of the path */
    ngx_queue_t                  queue;     /* most recently used first */
    ngx_http_blob_props_t        props;     /* strings point into path[] */
    ngx_keyval_t                *metadata;
    ngx_uint_t                   nmetadata;
    size_t                       size;      /* of the whole node */
    size_t                       path_len;
    u_char                       path[1];   /* then the strings */
} ngx_http_blob_props_cache_node_t;


struct ngx_http_blob_props_cache_s {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  lru;
    ngx_uint_t                   n;
    ngx_uint_t                   max;
    ngx_log_t                   *log;
};


static ngx_http_blob_props_cache_node_t *ngx_http_blob_props_cache_find(
    ngx_http_blob_props_cache_t *cache, ngx_str_t *path, uint32_t hash);
static void ngx_http_blob_props_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_blob_props_cache_remove(
    ngx_http_blob_props_cache_t *cache,
    ngx_http_blob_props_cache_node_t *cn);
static void ngx_http_blob_props_cache_cleanup(void *data);
static u_char *ngx_http_blob_props_cache_str(u_char *p, ngx_str_t *dst,
    ngx_str_t *src);


ngx_int_t
ngx_http_blob_props_cache_init_process(ngx_cycle_t *cycle)
{
    ngx_pool_cleanup_t           *cln;
    ngx_http_blob_main_conf_t    *bmcf;
    ngx_http_blob_props_cache_t  *cache;

    bmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_blob_module);

    if (bmcf == NULL || bmcf->props_cache_max == 0) {
        return NGX_OK;
    }

    cache = ngx_pcalloc(cycle->pool, sizeof(ngx_http_blob_props_cache_t));
    if (cache == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&cache->rbtree, &cache->sentinel,
                    ngx_http_blob_props_cache_insert_value);
    ngx_queue_init(&cache->lru);

    cache->max = bmcf->props_cache_max;
    cache->log = cycle->log;

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_blob_props_cache_cleanup;
    cln->data = cache;

    bmcf->props_cache = cache;

    return NGX_OK;
}


/*
 * The properties last seen for this blob, with the ETag they belong to,
 * copied to the request's pool: the entry may be evicted while the task
 * that compares the ETag runs.
 */

ngx_int_t
ngx_http_blob_props_cache_get(ngx_http_blob_props_cache_t *cache,
    ngx_pool_t *pool, ngx_str_t *path, ngx_http_blob_props_t **props)
{
    u_char                            *p;
    ngx_uint_t                         i;
    ngx_keyval_t                      *kv;
    ngx_http_blob_props_t             *out;
    ngx_http_blob_props_cache_node_t  *cn;

    *props = NULL;

    if (cache == NULL) {
        return NGX_DECLINED;
    }

    cn = ngx_http_blob_props_cache_find(cache, path,
                                        ngx_crc32_long(path->data, path->len));
    if (cn == NULL) {
        return NGX_DECLINED;
    }

    /* one allocation: the struct, then every string */

    out = ngx_palloc(pool, cn->size);
    if (out == NULL) {
        return NGX_ERROR;
    }

    *out = cn->props;

    p = (u_char *) out + sizeof(ngx_http_blob_props_t);

    p = ngx_http_blob_props_cache_str(p, &out->content_type,
                                      &cn->props.content_type);
    p = ngx_http_blob_props_cache_str(p, &out->content_encoding,
                                      &cn->props.content_encoding);
    p = ngx_http_blob_props_cache_str(p, &out->content_language,
                                      &cn->props.content_language);
    p = ngx_http_blob_props_cache_str(p, &out->content_disposition,
                                      &cn->props.content_disposition);
    p = ngx_http_blob_props_cache_str(p, &out->cache_control,
                                      &cn->props.cache_control);

    if (ngx_array_init(&out->metadata, pool, ngx_max(cn->nmetadata, 1),
                       sizeof(ngx_keyval_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < cn->nmetadata; i++) {
        kv = ngx_array_push(&out->metadata);
        if (kv == NULL) {
            return NGX_ERROR;
        }

        p = ngx_http_blob_props_cache_str(p, &kv->key, &cn->metadata[i].key);
        p = ngx_http_blob_props_cache_str(p, &kv->value,
                                          &cn->metadata[i].value);
    }

    *props = out;

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&cache->lru, &cn->queue);

    return NGX_OK;
}


void
ngx_http_blob_props_cache_put(ngx_http_blob_props_cache_t *cache,
    ngx_str_t *path, ngx_http_blob_props_t *props)
{
    u_char                            *p;
    size_t                             size, strings;
    uint32_t                           hash;
    ngx_uint_t                         i;
    ngx_queue_t                       *q;
    ngx_keyval_t                      *kv;
    ngx_http_blob_props_cache_node_t  *cn;

    if (cache == NULL) {
        return;
    }

    strings = props->content_type.len + props->content_encoding.len
              + props->content_language.len + props->content_disposition.len
              + props->cache_control.len;

    kv = props->metadata.elts;

    for (i = 0; i < props->metadata.nelts; i++) {
        strings += kv[i].key.len + kv[i].value.len;
    }

    if (path->len + strings > NGX_HTTP_BLOB_PROPS_CACHE_ENTRY_MAX) {
        return;
    }

    hash = ngx_crc32_long(path->data, path->len);

    /* the blob's previous version is of no more use */

    cn = ngx_http_blob_props_cache_find(cache, path, hash);
    if (cn) {
        ngx_http_blob_props_cache_remove(cache, cn);
    }

    if (cache->n >= cache->max) {
        q = ngx_queue_last(&cache->lru);
        cn = ngx_queue_data(q, ngx_http_blob_props_cache_node_t, queue);
        ngx_http_blob_props_cache_remove(cache, cn);
    }

    size = offsetof(ngx_http_blob_props_cache_node_t, path) + path->len
           + NGX_ALIGNMENT + props->metadata.nelts * sizeof(ngx_keyval_t)
           + strings;

    cn = ngx_alloc(size, cache->log);
    if (cn == NULL) {
        return;
    }

    cn->node.key = hash;
    cn->props = *props;
    cn->nmetadata = props->metadata.nelts;
    cn->path_len = path->len;

    /* what a copy for a request takes: see ngx_http_blob_props_cache_get() */
    cn->size = sizeof(ngx_http_blob_props_t) + strings;

    p = ngx_cpymem(cn->path, path->data, path->len);

    p = ngx_align_ptr(p, NGX_ALIGNMENT);
    cn->metadata = (ngx_keyval_t *) p;
    p += cn->nmetadata * sizeof(ngx_keyval_t);

    p = ngx_http_blob_props_cache_str(p, &cn->props.content_type,
                                      &props->content_type);
    p = ngx_http_blob_props_cache_str(p, &cn->props.content_encoding,
                                      &props->content_encoding);
    p = ngx_http_blob_props_cache_str(p, &cn->props.content_language,
                                      &props->content_language);
    p = ngx_http_blob_props_cache_str(p, &cn->props.content_disposition,
                                      &props->content_disposition);
    p = ngx_http_blob_props_cache_str(p, &cn->props.cache_control,
                                      &props->cache_control);

    for (i = 0; i < cn->nmetadata; i++) {
        p = ngx_http_blob_props_cache_str(p, &cn->metadata[i].key,
                                          &kv[i].key);
        p = ngx_http_blob_props_cache_str(p, &cn->metadata[i].value,
                                          &kv[i].value);
    }

    ngx_memzero(&cn->props.metadata, sizeof(ngx_array_t));

    ngx_rbtree_insert(&cache->rbtree, &cn->node);
    ngx_queue_insert_head(&cache->lru, &cn->queue);
    cache->n++;
}


/* an empty string still points somewhere: an empty metadata value is a
 * header, and nginx copies header values with memcpy() */

static u_char *
ngx_http_blob_props_cache_str(u_char *p, ngx_str_t *dst, ngx_str_t *src)
{
    dst->len = src->len;
    dst->data = p;

    if (src->len == 0) {
        return p;
    }

    return ngx_cpymem(p, src->data, src->len);
}


static ngx_http_blob_props_cache_node_t *
ngx_http_blob_props_cache_find(ngx_http_blob_props_cache_t *cache,
    ngx_str_t *path, uint32_t hash)
{
    ngx_int_t                          rc;
    ngx_rbtree_node_t                 *node, *sentinel;
    ngx_http_blob_props_cache_node_t  *cn;

    node = cache->rbtree.root;
    sentinel = cache->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        cn = (ngx_http_blob_props_cache_node_t *) node;

        rc = ngx_memn2cmp(path->data, cn->path, path->len, cn->path_len);

        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* equal hashes are ordered by the path, as ngx_str_rbtree_insert_value() */

static void
ngx_http_blob_props_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t                **p;
    ngx_http_blob_props_cache_node_t  *cn, *cnt;

    for ( ;; ) {

        cn = (ngx_http_blob_props_cache_node_t *) node;
        cnt = (ngx_http_blob_props_cache_node_t *) temp;

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = (ngx_memn2cmp(cn->path, cnt->path, cn->path_len,
                              cnt->path_len)
                 < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static void
ngx_http_blob_props_cache_remove(ngx_http_blob_props_cache_t *cache,
    ngx_http_blob_props_cache_node_t *cn)
{
    ngx_rbtree_delete(&cache->rbtree, &cn->node);
    ngx_queue_remove(&cn->queue);
    ngx_free(cn);
    cache->n--;
}


static void
ngx_http_blob_props_cache_cleanup(void *data)
{
    ngx_http_blob_props_cache_t *cache = data;

    ngx_queue_t                       *q;
    ngx_http_blob_props_cache_node_t  *cn;

    while (!ngx_queue_empty(&cache->lru)) {
        q = ngx_queue_head(&cache->lru);
        cn = ngx_queue_data(q, ngx_http_blob_props_cache_node_t, queue);
        ngx_http_blob_props_cache_remove(cache, cn);
    }
}

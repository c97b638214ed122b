
/*
 * ngx_blob_module: container properties on disk.
 *
 * A container is a directory under the account root; what Azure keeps
 * about it beside (ETag, last modification, public access, metadata, the
 * stored access policies) lives in <root>/.blob/containers/<name>.json,
 * replaced whole by a write to a temporary name and rename(2), so a reader
 * on any host sees the old or the new document.  A directory made by
 * someone else has no document: it gets defaults from its own stat.
 *
 * Both functions run in thread tasks.
 */


#include "ngx_http_blob_module.h"

#include <jansson.h>


#define NGX_HTTP_BLOB_CONTAINER_JSON_MAX  (256 * 1024)


static u_char *ngx_http_blob_container_json_path(ngx_pool_t *pool,
    ngx_http_blob_ctx_t *ctx, ngx_str_t *container);
static ngx_int_t ngx_http_blob_container_json_str(ngx_pool_t *pool,
    json_t *v, ngx_str_t *out);
static json_t *ngx_http_blob_container_json_string(ngx_str_t *s);


static u_char *
ngx_http_blob_container_json_path(ngx_pool_t *pool, ngx_http_blob_ctx_t *ctx,
    ngx_str_t *container)
{
    u_char  *path;

    path = ngx_pnalloc(pool, ctx->account_root.len
                             + sizeof("/" NGX_HTTP_BLOB_STATE_DIR
                                      "/containers/.json")
                             + container->len);
    if (path == NULL) {
        return NULL;
    }

    ngx_sprintf(path, "%V/" NGX_HTTP_BLOB_STATE_DIR "/containers/%V.json%Z",
                &ctx->account_root, container);

    return path;
}


static ngx_int_t
ngx_http_blob_container_json_str(ngx_pool_t *pool, json_t *v, ngx_str_t *out)
{
    size_t  len;

    if (v == NULL || !json_is_string(v)) {
        ngx_str_null(out);
        return NGX_OK;
    }

    len = json_string_length(v);

    out->data = ngx_pnalloc(pool, len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, json_string_value(v), len);
    out->data[len] = '\0';
    out->len = len;

    return NGX_OK;
}


/* jansson refuses a NULL pointer even for an empty string */

static json_t *
ngx_http_blob_container_json_string(ngx_str_t *s)
{
    if (s->len == 0) {
        return json_string("");
    }

    return json_stringn((char *) s->data, s->len);
}


/*
 * NGX_OK: the container exists and props is filled;
 * NGX_DECLINED: there is no such container (nothing logged);
 * NGX_ERROR: ctx->err, ctx->failed and ctx->error say why.
 */

ngx_int_t
ngx_http_blob_container_load(ngx_pool_t *pool, ngx_http_blob_ctx_t *ctx,
    ngx_str_t *container, ngx_http_blob_container_props_t *props)
{
    u_char           *path, *dir;
    size_t            i, n;
    json_t           *root, *v, *pair;
    ngx_int_t         rc;
    ngx_str_t         data;
    json_error_t      error;
    ngx_keyval_t     *kv;
    ngx_file_info_t   fi;

    ngx_memzero(props, sizeof(ngx_http_blob_container_props_t));

    if (ngx_array_init(&props->metadata, pool, 4, sizeof(ngx_keyval_t))
        != NGX_OK)
    {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    dir = ngx_pnalloc(pool, ctx->account_root.len + 1 + container->len + 1);
    if (dir == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ngx_sprintf(dir, "%V/%V%Z", &ctx->account_root, container);

    /* a container is a real directory: a symlink is not followed */

    if (ngx_link_info(dir, &fi) == NGX_FILE_ERROR) {
        ctx->err = ngx_errno;

        if (ctx->err == NGX_ENOENT || ctx->err == NGX_ENOTDIR) {
            return NGX_DECLINED;
        }

        ctx->failed = ngx_link_info_n;
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        return NGX_ERROR;
    }

    if (!ngx_is_dir(&fi)) {
        return NGX_DECLINED;
    }

    props->last_modified = ngx_file_mtime(&fi);
    props->etag = ngx_http_blob_store_etag(&fi);

    path = ngx_http_blob_container_json_path(pool, ctx, container);
    if (path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    rc = ngx_http_blob_store_read_file(pool, ctx, path, &data,
                                       NGX_HTTP_BLOB_CONTAINER_JSON_MAX);

    if (rc == NGX_DECLINED && ctx->err == NGX_ENOENT) {
        /* created by someone else: the defaults above */
        ctx->err = 0;
        ctx->failed = NULL;
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    root = json_loadb((char *) data.data, data.len, 0, &error);

    if (root == NULL || !json_is_object(root)) {
        /* not ours, or damaged: a container still, with defaults */
        if (root) {
            json_decref(root);
        }

        return NGX_OK;
    }

    v = json_object_get(root, "last_modified");
    if (json_is_integer(v)) {
        props->last_modified = (time_t) json_integer_value(v);
    }

    v = json_object_get(root, "etag");
    if (json_is_integer(v)) {
        props->etag = (uint64_t) json_integer_value(v);
    }

    if (ngx_http_blob_container_json_str(pool,
                                 json_object_get(root, "public_access"),
                                 &props->public_access)
        != NGX_OK
        || ngx_http_blob_container_json_str(pool,
                                            json_object_get(root, "acl"),
                                            &props->acl)
           != NGX_OK)
    {
        goto failed;
    }

    v = json_object_get(root, "metadata");
    n = json_is_array(v) ? json_array_size(v) : 0;

    for (i = 0; i < n; i++) {
        pair = json_array_get(v, i);

        if (!json_is_array(pair) || json_array_size(pair) != 2
            || !json_is_string(json_array_get(pair, 0))
            || !json_is_string(json_array_get(pair, 1)))
        {
            continue;
        }

        kv = ngx_array_push(&props->metadata);
        if (kv == NULL) {
            goto failed;
        }

        if (ngx_http_blob_container_json_str(pool, json_array_get(pair, 0),
                                             &kv->key)
            != NGX_OK
            || ngx_http_blob_container_json_str(pool, json_array_get(pair, 1),
                                                &kv->value)
               != NGX_OK)
        {
            goto failed;
        }
    }

    json_decref(root);

    return NGX_OK;

failed:

    json_decref(root);
    ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;

    return NGX_ERROR;
}


/*
 * The ETag is stored as a JSON integer: jansson's integers are signed
 * 64-bit, and the cast round-trips every bit pattern.
 */

ngx_int_t
ngx_http_blob_container_save(ngx_pool_t *pool, ngx_http_blob_ctx_t *ctx,
    ngx_str_t *container, ngx_http_blob_container_props_t *props)
{
    char          *dump;
    u_char        *path;
    json_t        *root, *meta, *pair;
    ngx_int_t      rc;
    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    path = ngx_http_blob_container_json_path(pool, ctx, container);
    if (path == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    root = json_object();
    if (root == NULL) {
        goto failed;
    }

    /* root owns meta from here on, also when a later step fails */

    meta = json_array();

    if (json_object_set_new(root, "metadata", meta) != 0
        || json_object_set_new(root, "version", json_integer(1)) != 0
        || json_object_set_new(root, "last_modified",
                               json_integer(props->last_modified)) != 0
        || json_object_set_new(root, "etag",
                               json_integer((json_int_t) props->etag)) != 0
        || json_object_set_new(root, "public_access",
                   ngx_http_blob_container_json_string(&props->public_access))
           != 0
        || json_object_set_new(root, "acl",
                   ngx_http_blob_container_json_string(&props->acl)) != 0)
    {
        json_decref(root);
        goto failed;
    }

    kv = props->metadata.elts;

    for (i = 0; i < props->metadata.nelts; i++) {
        pair = json_pack("[s#s#]", kv[i].key.data, kv[i].key.len,
                         kv[i].value.data, kv[i].value.len);

        if (pair == NULL || json_array_append_new(meta, pair) != 0) {
            json_decref(root);
            goto failed;
        }
    }

    dump = json_dumps(root, JSON_COMPACT);
    json_decref(root);

    if (dump == NULL) {
        goto failed;
    }

    rc = ngx_http_blob_store_write_file(ctx, path, (u_char *) dump,
                                        ngx_strlen(dump));
    free(dump);

    return rc;

failed:

    ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    ctx->failed = "saving container properties";

    return NGX_ERROR;
}

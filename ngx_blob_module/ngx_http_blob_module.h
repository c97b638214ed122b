
/*
 * ngx_blob_module: the Azure Blob Storage REST API over a shared directory.
 *
 * The one internal header: every file of the module includes it, and only
 * it.  Each section below belongs to the file named in its comment.
 */


#ifndef _NGX_HTTP_BLOB_MODULE_H_INCLUDED_
#define _NGX_HTTP_BLOB_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if !(NGX_THREADS)
#error ngx_blob_module requires nginx built with --with-threads
#endif

#include <ngx_thread_pool.h>
#include <ngx_md5.h>


/* Azure's limits, from the Blob REST reference */

#define NGX_HTTP_BLOB_MAX_PUT_BLOB        (5000 * 1024 * 1024LL)
#define NGX_HTTP_BLOB_MAX_PUT_BLOCK       (4000 * 1024 * 1024LL)
#define NGX_HTTP_BLOB_MAX_BLOCKS          50000
#define NGX_HTTP_BLOB_MAX_UNCOMMITTED     100000
#define NGX_HTTP_BLOB_MAX_BLOCK_ID        64
#define NGX_HTTP_BLOB_MAX_NAME            1024
#define NGX_HTTP_BLOB_MAX_SEGMENT         255
#define NGX_HTTP_BLOB_MAX_RESULTS         5000
#define NGX_HTTP_BLOB_RANGE_MD5_MAX       (4 * 1024 * 1024)
#define NGX_HTTP_BLOB_CLOCK_SKEW          (15 * 60)

/* the internal state directory under each account root (see docs/LAYOUT.md) */
#define NGX_HTTP_BLOB_STATE_DIR           ".blob"

#define NGX_HTTP_BLOB_VERSION_DEFAULT     "2021-12-02"


typedef struct ngx_http_blob_ctx_s  ngx_http_blob_ctx_t;
typedef struct ngx_http_blob_gc_s   ngx_http_blob_gc_t;
typedef struct ngx_http_blob_task_s  ngx_http_blob_task_t;
typedef struct ngx_http_blob_props_cache_s  ngx_http_blob_props_cache_t;


/* ngx_http_blob_error.c: the one table of Azure errors */

typedef enum {
    NGX_HTTP_BLOB_OK = 0,

    /* 400 */
    NGX_HTTP_BLOB_ERR_INVALID_QUERY_PARAMETER_VALUE,
    NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE,
    NGX_HTTP_BLOB_ERR_MISSING_REQUIRED_HEADER,
    NGX_HTTP_BLOB_ERR_MISSING_REQUIRED_QUERY_PARAMETER,
    NGX_HTTP_BLOB_ERR_INVALID_INPUT,
    NGX_HTTP_BLOB_ERR_INVALID_URI,
    NGX_HTTP_BLOB_ERR_INVALID_RESOURCE_NAME,
    NGX_HTTP_BLOB_ERR_OUT_OF_RANGE_INPUT,
    NGX_HTTP_BLOB_ERR_INVALID_MD5,
    NGX_HTTP_BLOB_ERR_MD5_MISMATCH,
    NGX_HTTP_BLOB_ERR_CRC64_MISMATCH,
    NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT,
    NGX_HTTP_BLOB_ERR_INVALID_XML_NODE_VALUE,
    NGX_HTTP_BLOB_ERR_INVALID_BLOCK_ID,
    NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST,
    NGX_HTTP_BLOB_ERR_BLOCK_COUNT_EXCEEDS_LIMIT,
    NGX_HTTP_BLOB_ERR_BLOCK_LIST_TOO_LONG,
    NGX_HTTP_BLOB_ERR_REQUEST_BODY_TOO_LARGE,
    NGX_HTTP_BLOB_ERR_INVALID_METADATA,
    NGX_HTTP_BLOB_ERR_EMPTY_METADATA_KEY,
    NGX_HTTP_BLOB_ERR_METADATA_TOO_LARGE,
    NGX_HTTP_BLOB_ERR_UNSUPPORTED_HTTP_VERB,
    NGX_HTTP_BLOB_ERR_UNSUPPORTED_QUERY_PARAMETER,
    NGX_HTTP_BLOB_ERR_UNSUPPORTED_HEADER,
    NGX_HTTP_BLOB_ERR_INVALID_AUTH_HEADER,
    NGX_HTTP_BLOB_ERR_OUT_OF_RANGE_QUERY_PARAMETER_VALUE,
    NGX_HTTP_BLOB_ERR_INVALID_RANGE_HEADER,

    /* 403 */
    NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED,
    NGX_HTTP_BLOB_ERR_AUTHORIZATION_FAILURE,
    NGX_HTTP_BLOB_ERR_AUTHORIZATION_PERMISSION_MISMATCH,
    NGX_HTTP_BLOB_ERR_AUTHORIZATION_RESOURCE_TYPE_MISMATCH,
    NGX_HTTP_BLOB_ERR_AUTHORIZATION_SERVICE_MISMATCH,
    NGX_HTTP_BLOB_ERR_AUTHORIZATION_PROTOCOL_MISMATCH,
    NGX_HTTP_BLOB_ERR_AUTHORIZATION_SOURCE_IP_MISMATCH,

    /* 401 */
    NGX_HTTP_BLOB_ERR_NO_AUTHENTICATION_INFORMATION,

    /* 404 */
    NGX_HTTP_BLOB_ERR_RESOURCE_NOT_FOUND,
    NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND,
    NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND,
    NGX_HTTP_BLOB_ERR_ACCOUNT_NOT_FOUND,

    /* 405 */
    NGX_HTTP_BLOB_ERR_UNSUPPORTED_METHOD,

    /* 409 */
    NGX_HTTP_BLOB_ERR_CONTAINER_ALREADY_EXISTS,
    NGX_HTTP_BLOB_ERR_CONTAINER_BEING_DELETED,
    NGX_HTTP_BLOB_ERR_BLOB_ALREADY_EXISTS,
    NGX_HTTP_BLOB_ERR_INVALID_BLOB_TYPE,
    NGX_HTTP_BLOB_ERR_PATH_CONFLICT,
    NGX_HTTP_BLOB_ERR_FEATURE_NOT_SUPPORTED,

    /* 304, 412, 416 */
    NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET_304,
    NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET,
    NGX_HTTP_BLOB_ERR_TARGET_CONDITION_NOT_MET,
    NGX_HTTP_BLOB_ERR_INVALID_RANGE,

    /* 411, 413 */
    NGX_HTTP_BLOB_ERR_MISSING_CONTENT_LENGTH,

    /* 500, 503 */
    NGX_HTTP_BLOB_ERR_INTERNAL_ERROR,
    NGX_HTTP_BLOB_ERR_SERVER_BUSY,
    NGX_HTTP_BLOB_ERR_INSUFFICIENT_STORAGE,

    NGX_HTTP_BLOB_ERR_LAST
} ngx_http_blob_error_e;


/* optional details an error response carries in its <Error> body */
typedef struct {
    ngx_str_t                    header_name;
    ngx_str_t                    header_value;
    ngx_str_t                    query_name;
    ngx_str_t                    query_value;
    ngx_str_t                    auth_detail;
    ngx_str_t                    reason;
} ngx_http_blob_error_detail_t;


/* ngx_http_blob_module.c: configuration */

typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    root;          /* no trailing slash */
    u_char                       key[2][64];    /* decoded account keys */
    size_t                       key_len[2];
    ngx_uint_t                   nkeys;
    struct evp_mac_ctx_st       *hmac[2];       /* HMAC keyed with each */
    dev_t                        root_dev;      /* local filesystem */
    unsigned                     root_local:1;  /* reads may use cached
                                                   lookups */
} ngx_http_blob_account_t;


typedef struct {
    ngx_array_t                  roots;         /* of ngx_str_t: GC walks */
    ngx_msec_t                   gc_interval;
    time_t                       gc_block_ttl;  /* uncommitted block age */
    time_t                       gc_temp_ttl;   /* abandoned staging files */
    ngx_thread_pool_t           *gc_thread_pool;
    ngx_uint_t                   inflight;      /* this worker's requests */
    ngx_http_blob_gc_t          *gc;            /* this worker's collector */

    /* short tasks gathered during one event loop iteration */
    ngx_uint_t                   task_batch;    /* blob_task_batch */
    ngx_int_t                    task_usec;     /* mean short task, µs*8 */
    ngx_uint_t                   task_batches;  /* in the pool */
    ngx_queue_t                  task_pending;
    ngx_event_t                  task_flush;    /* posted, or a timer */

    ngx_uint_t                   props_cache_max;   /* blob_properties_cache */
    ngx_http_blob_props_cache_t *props_cache;   /* this worker's */
} ngx_http_blob_main_conf_t;


typedef struct {
    ngx_flag_t                   enable;
    ngx_array_t                 *accounts;      /* of ngx_http_blob_account_t */
    ngx_str_t                    keys_file;
    ngx_str_t                    host_suffix;   /* "blob.core.windows.net" */
    ngx_thread_pool_t           *thread_pool;
    ngx_str_t                    thread_pool_name;
    off_t                        max_put_blob;
    off_t                        max_put_block;
    size_t                       body_buffer_size;
    ngx_flag_t                   fsync;
    ngx_uint_t                   max_inflight;  /* 503 ServerBusy beyond */
    ngx_flag_t                   anonymous;     /* honour public access */
    ngx_flag_t                   cached_reads;  /* blob_cached_reads */
    ngx_http_core_loc_conf_t    *core;          /* of the "blob on" location */
} ngx_http_blob_loc_conf_t;


/* ngx_http_blob_dispatch.c: the operation table */

typedef enum {
    NGX_HTTP_BLOB_LEVEL_SERVICE = 0,
    NGX_HTTP_BLOB_LEVEL_CONTAINER,
    NGX_HTTP_BLOB_LEVEL_BLOB
} ngx_http_blob_level_e;


/*
 * SAS permission letters an operation accepts (ngx_http_blob_auth_sas.c):
 * any one of the bits in op->perm suffices (Put Blob: w or c).
 */
#define NGX_HTTP_BLOB_PERM_READ     0x01    /* r */
#define NGX_HTTP_BLOB_PERM_ADD      0x02    /* a */
#define NGX_HTTP_BLOB_PERM_CREATE   0x04    /* c */
#define NGX_HTTP_BLOB_PERM_WRITE    0x08    /* w */
#define NGX_HTTP_BLOB_PERM_DELETE   0x10    /* d */
#define NGX_HTTP_BLOB_PERM_LIST     0x20    /* l */


typedef ngx_int_t (*ngx_http_blob_op_pt)(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);


typedef struct {
    ngx_str_t                    name;          /* "PutBlob": logs, metrics */
    ngx_uint_t                   method;        /* NGX_HTTP_GET | ... */
    ngx_http_blob_level_e        level;
    ngx_str_t                    restype;       /* empty: absent */
    ngx_str_t                    comp;          /* empty: absent */
    ngx_uint_t                   perm;          /* NGX_HTTP_BLOB_PERM_* */
    unsigned                     any_level:1;   /* Get Account Information */
    unsigned                     public_read:1; /* anonymous if public */
    unsigned                     reads_body:1;
    ngx_http_blob_op_pt          handler;
} ngx_http_blob_op_t;


/* ngx_http_blob_store.c: blob properties, as kept on disk */

typedef struct {
    ngx_str_t                    content_type;
    ngx_str_t                    content_encoding;
    ngx_str_t                    content_language;
    ngx_str_t                    content_disposition;
    ngx_str_t                    cache_control;
    u_char                       content_md5[16];
    unsigned                     has_md5:1;
    unsigned                     resident:1;    /* bytes are on this tier */

    ngx_array_t                  metadata;      /* of ngx_keyval_t */

    /* what the file itself says, and what the ETag derives from */
    off_t                        size;
    time_t                       mtime;
    uint64_t                     mtime_ns;
    uint64_t                     ino;
    time_t                       creation_time;
    uint64_t                     etag;
} ngx_http_blob_props_t;


typedef struct {
    ngx_str_t                    name;          /* decoded block id */
    off_t                        size;
} ngx_http_blob_block_t;


/* ngx_http_blob_task.c: run filesystem work in the thread pool */

/*
 * Short tasks (opening a blob for a read) that arrive in one iteration of
 * the event loop go to the pool together, up to blob_task_batch per thread
 * task: one wake-up of a pool thread instead of one each.
 */
#define NGX_HTTP_BLOB_TASK_BATCH      16
#define NGX_HTTP_BLOB_TASK_BATCH_MAX  64

typedef void (*ngx_http_blob_work_pt)(ngx_http_blob_ctx_t *ctx);
typedef void (*ngx_http_blob_done_pt)(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);


/* the per-request context */

struct ngx_http_blob_ctx_s {
    ngx_http_request_t          *request;
    ngx_http_blob_loc_conf_t    *conf;
    ngx_http_blob_account_t     *account;
    const ngx_http_blob_op_t    *op;

    ngx_http_blob_level_e        level;
    ngx_str_t                    container;     /* decoded */
    ngx_str_t                    blob;          /* decoded */
    ngx_str_t                    canonical_uri; /* "/account/container/blob",
                                                   as sent, for Shared Key */
    unsigned                     host_style:1;

    ngx_str_t                    request_id;
    ngx_str_t                    version;       /* x-ms-version */
    u_char                       request_id_buf[37];

    /* authorization outcome (ngx_http_blob_auth*.c) */
    unsigned                     authenticated:1;
    unsigned                     anonymous:1;
    unsigned                     sas:1;
    ngx_array_t                 *sas_overrides; /* of ngx_table_elt_t */

    /* filesystem paths, all null-terminated */
    ngx_str_t                    account_root;
    ngx_str_t                    container_path;
    ngx_str_t                    blob_path;
    ngx_str_t                    state_path;    /* per-blob state dir */
    ngx_str_t                    temp_path;     /* staging file */

    /* thread task: inputs and outputs of the syscalls only */
    ngx_pool_t                  *task_pool;     /* used by the thread alone */
    ngx_http_blob_work_pt        work;
    ngx_http_blob_done_pt        done;
    ngx_err_t                    err;
    const char                  *failed;        /* syscall, for the log */
    ngx_http_blob_error_e        error;
    ngx_fd_t                     fd;
    ngx_file_info_t              fi;
    ngx_http_blob_props_t        props;
    ngx_http_blob_props_t       *props_cached;  /* from the props cache */
    ngx_uint_t                   tasks;         /* posted to the pool:
                                                   $blob_thread_tasks */
    unsigned                     exists:1;
    unsigned                     busy:1;        /* a task is in flight */
    unsigned                     body_done:1;
    unsigned                     body_last:1;   /* this write ends it */
    unsigned                     body_skip_md5:1;   /* set by operations */
    unsigned                     body_skip_crc64:1; /* that do not need it */
    unsigned                     body_hash_apart:1; /* not in the write */

    /*
     * Written by a thread task, or by the event loop while one runs:
     * each its own memory location, never a bit field that a thread
     * reads or writes at the same time.
     */
    u_char                       committed;     /* temp_path was renamed
                                                   or unlinked: the request
                                                   cleanup leaves it be */
    u_char                       props_read;    /* a sidecar was read, or
                                                   found not to be there */
    u_char                       body_hashing;  /* a hash task runs */
    u_char                       body_write_waits;  /* for the hash task */

    /* request body streamed to temp_path (ngx_http_blob_body.c) */
    ngx_chain_t                 *body_chain;    /* being written */
    u_char                      *body_spare;    /* the second buffer */
    ngx_thread_task_t           *body_hash_task;
    ngx_event_t                  body_hash_wait;
    off_t                        body_received;
    off_t                        body_flushed;  /* writeback started */
    ngx_md5_t                    body_md5;      /* ngx_md5_final() it */
    uint64_t                     body_crc64;
    ngx_http_blob_done_pt        body_done_handler;
    ngx_http_blob_work_pt        body_finish;   /* runs in the task that
                                                   wrote the last byte */

    void                        *op_data;       /* the operation's own */
};


/* ngx_http_blob_module.c */
extern ngx_module_t  ngx_http_blob_module;


/* ngx_http_blob_dispatch.c */
ngx_int_t ngx_http_blob_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_blob_refused_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_blob_arg(ngx_http_request_t *r, char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_blob_arg_decoded(ngx_http_request_t *r, char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_blob_unescape(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst, ngx_uint_t plus_is_space);


/* ngx_http_blob_headers.c */
ngx_table_elt_t *ngx_http_blob_header_in(ngx_http_request_t *r,
    char *lowcase_name);
ngx_int_t ngx_http_blob_header_in_value(ngx_http_request_t *r,
    char *lowcase_name, ngx_str_t *value);
ngx_int_t ngx_http_blob_header_out(ngx_http_request_t *r, char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_blob_header_out_cstr(ngx_http_request_t *r, char *name,
    char *value);
ngx_int_t ngx_http_blob_header_out_time(ngx_http_request_t *r, char *name,
    time_t t);
ngx_int_t ngx_http_blob_common_headers(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_etag_format(ngx_pool_t *pool, uint64_t etag,
    ngx_uint_t quoted, ngx_str_t *out);
ngx_int_t ngx_http_blob_props_headers(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_props_t *props);
ngx_int_t ngx_http_blob_metadata_headers(ngx_http_request_t *r,
    ngx_array_t *metadata);
ngx_int_t ngx_http_blob_metadata_parse(ngx_http_request_t *r,
    ngx_array_t *metadata, ngx_http_blob_error_detail_t *detail);
time_t ngx_http_blob_parse_time(ngx_str_t *value);


/* ngx_http_blob_error.c */
ngx_int_t ngx_http_blob_error(ngx_http_request_t *r,
    ngx_http_blob_error_e error, ngx_http_blob_error_detail_t *detail);
ngx_int_t ngx_http_blob_error_header(ngx_http_request_t *r,
    ngx_http_blob_error_e error, char *header, ngx_str_t *value);
ngx_http_blob_error_e ngx_http_blob_errno_error(ngx_err_t err);
ngx_uint_t ngx_http_blob_error_status(ngx_http_blob_error_e error);


/* ngx_http_blob_auth.c, ngx_http_blob_auth_shared_key.c,
 * ngx_http_blob_auth_sas.c */
ngx_int_t ngx_http_blob_authorize(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail);
ngx_int_t ngx_http_blob_auth_shared_key(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_str_t *credentials,
    ngx_http_blob_error_detail_t *detail);
ngx_int_t ngx_http_blob_auth_sas(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail);
ngx_int_t ngx_http_blob_hmac_init(ngx_pool_t *pool,
    ngx_http_blob_account_t *account, ngx_uint_t key);
ngx_int_t ngx_http_blob_hmac_sha256(ngx_http_blob_account_t *account,
    ngx_uint_t key, ngx_str_t *string_to_sign, ngx_str_t *signature);
ngx_int_t ngx_http_blob_signature_equal(ngx_str_t *a, ngx_str_t *b);
ngx_int_t ngx_http_blob_auth_fail(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail,
    ngx_http_blob_error_e error, size_t extra, const char *fmt, ...);


/* ngx_http_blob_task.c */
ngx_int_t ngx_http_blob_task_run(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_work_pt work,
    ngx_http_blob_done_pt done);
ngx_int_t ngx_http_blob_task_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_blob_task_run_short(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_work_pt work,
    ngx_http_blob_done_pt done);
ngx_int_t ngx_http_blob_task_init_process(ngx_cycle_t *cycle);


/* ngx_http_blob_props_cache.c */
ngx_int_t ngx_http_blob_props_cache_init_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_blob_props_cache_get(ngx_http_blob_props_cache_t *cache,
    ngx_pool_t *pool, ngx_str_t *path, ngx_http_blob_props_t **props);
void ngx_http_blob_props_cache_put(ngx_http_blob_props_cache_t *cache,
    ngx_str_t *path, ngx_http_blob_props_t *props);
ngx_int_t ngx_http_blob_task_pool(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
void ngx_http_blob_finalize(ngx_http_request_t *r, ngx_int_t rc);


/*
 * ngx_http_blob_store.c: the on-disk layout, used from thread tasks;
 * memory comes from ctx->task_pool (ngx_http_blob_task_run() creates it).
 * publish_new() is the create-only variant (If-None-Match: *, link(2)).
 */
ngx_int_t ngx_http_blob_store_paths(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_fd_t ngx_http_blob_store_open(ngx_http_blob_ctx_t *ctx, int flags);
void ngx_http_blob_store_probe_root(ngx_conf_t *cf,
    ngx_http_blob_account_t *account);
ngx_fd_t ngx_http_blob_store_open_cached(ngx_http_blob_ctx_t *ctx,
    ngx_file_info_t *fi, ngx_uint_t *noatime);
ngx_int_t ngx_http_blob_store_stat(ngx_http_blob_ctx_t *ctx,
    ngx_file_info_t *fi);
ngx_int_t ngx_http_blob_store_unlink(ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_store_state_dir(ngx_pool_t *pool, ngx_str_t *root,
    ngx_str_t *container, ngx_str_t *blob, ngx_str_t *out);
ngx_int_t ngx_http_blob_store_temp_name(ngx_pool_t *pool, ngx_str_t *root,
    ngx_str_t *out);
uint64_t ngx_http_blob_store_etag(ngx_file_info_t *fi);
void ngx_http_blob_store_props_from_file(ngx_http_blob_props_t *props,
    ngx_file_info_t *fi);
ngx_int_t ngx_http_blob_store_load_props(ngx_pool_t *pool,
    ngx_http_blob_ctx_t *ctx, ngx_str_t *state_path, ngx_file_info_t *fi,
    ngx_http_blob_props_t *props);
ngx_int_t ngx_http_blob_store_save_props(ngx_pool_t *pool,
    ngx_http_blob_ctx_t *ctx, ngx_str_t *state_path,
    ngx_http_blob_props_t *props);
ngx_int_t ngx_http_blob_store_write_name(ngx_http_blob_ctx_t *ctx,
    ngx_str_t *state_path);
void ngx_http_blob_store_prune(ngx_http_blob_ctx_t *ctx,
    ngx_str_t *state_path, uint64_t keep_etag, ngx_uint_t blocks);
ngx_int_t ngx_http_blob_store_mkdir_parents(ngx_http_blob_ctx_t *ctx,
    u_char *path, size_t base_len);
void ngx_http_blob_store_rmdir_parents(u_char *path, size_t base_len);
ngx_int_t ngx_http_blob_store_publish(ngx_http_blob_ctx_t *ctx,
    u_char *from, u_char *to, size_t base_len);
ngx_int_t ngx_http_blob_store_publish_new(ngx_http_blob_ctx_t *ctx,
    u_char *from, u_char *to, size_t base_len);
ngx_int_t ngx_http_blob_store_remove_tree(ngx_http_blob_ctx_t *ctx,
    u_char *path);
ngx_int_t ngx_http_blob_store_trash(ngx_http_blob_ctx_t *ctx, u_char *path);
ngx_int_t ngx_http_blob_store_write_file(ngx_http_blob_ctx_t *ctx,
    u_char *path, u_char *data, size_t len);
ngx_int_t ngx_http_blob_store_write_new_file(ngx_http_blob_ctx_t *ctx,
    u_char *path, u_char *data, size_t len);
ngx_int_t ngx_http_blob_store_read_file(ngx_pool_t *pool,
    ngx_http_blob_ctx_t *ctx, u_char *path, ngx_str_t *out, size_t max);
ngx_int_t ngx_http_blob_container_name_valid(ngx_str_t *name);
ngx_int_t ngx_http_blob_blob_name_valid(ngx_str_t *name);


/* ngx_http_blob_container_store.c: container properties on disk */
typedef struct {
    time_t                       last_modified;
    uint64_t                     etag;
    ngx_str_t                    public_access; /* "", "blob", "container" */
    ngx_array_t                  metadata;      /* of ngx_keyval_t */
    ngx_str_t                    acl;           /* stored SignedIdentifiers */
} ngx_http_blob_container_props_t;

ngx_int_t ngx_http_blob_container_load(ngx_pool_t *pool,
    ngx_http_blob_ctx_t *ctx, ngx_str_t *container,
    ngx_http_blob_container_props_t *props);
ngx_int_t ngx_http_blob_container_save(ngx_pool_t *pool,
    ngx_http_blob_ctx_t *ctx, ngx_str_t *container,
    ngx_http_blob_container_props_t *props);


/* ngx_http_blob_body.c: stream the request body into a staging file */
ngx_int_t ngx_http_blob_body_read(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_done_pt done);


/* ngx_http_blob_conditional.c */
ngx_http_blob_error_e ngx_http_blob_conditions(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_uint_t exists, uint64_t etag,
    time_t last_modified, ngx_uint_t is_read);


/* ngx_http_blob_range.c */
typedef struct {
    off_t                        start;
    off_t                        end;           /* inclusive */
    unsigned                     present:1;
    unsigned                     open_end:1;
    unsigned                     suffix:1;      /* bytes=-N */
    unsigned                     if_range:1;    /* an If-Range came too */
} ngx_http_blob_range_t;

ngx_int_t ngx_http_blob_range_parse(ngx_str_t *value,
    ngx_http_blob_range_t *range);


/* ngx_http_blob_crc64.c: Azure's CRC-64 (x-ms-content-crc64) */
uint64_t ngx_http_blob_crc64(uint64_t crc, u_char *p, size_t len);


/* ngx_http_blob_xml.c: the response writer and the request reader */
typedef struct {
    ngx_chain_t                 *first;
    ngx_chain_t                **last;
    ngx_buf_t                   *buf;
    ngx_pool_t                  *pool;
    size_t                       chunk;
    off_t                        total;
    ngx_int_t                    failed;
} ngx_http_blob_xml_t;

ngx_int_t ngx_http_blob_xml_init(ngx_http_blob_xml_t *x, ngx_pool_t *pool);
void ngx_http_blob_xml_raw(ngx_http_blob_xml_t *x, u_char *data, size_t len);
void ngx_http_blob_xml_cstr(ngx_http_blob_xml_t *x, char *s);
void ngx_http_blob_xml_text(ngx_http_blob_xml_t *x, ngx_str_t *text);
void ngx_http_blob_xml_element(ngx_http_blob_xml_t *x, char *name,
    ngx_str_t *text);
void ngx_http_blob_xml_element_cstr(ngx_http_blob_xml_t *x, char *name,
    char *text);
void ngx_http_blob_xml_element_time(ngx_http_blob_xml_t *x, char *name,
    time_t t);
void ngx_http_blob_xml_element_off(ngx_http_blob_xml_t *x, char *name,
    off_t n);
void ngx_http_blob_xml_open(ngx_http_blob_xml_t *x, char *name);
void ngx_http_blob_xml_close(ngx_http_blob_xml_t *x, char *name);
ngx_int_t ngx_http_blob_xml_send(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_uint_t status, ngx_http_blob_xml_t *x);
size_t ngx_http_blob_xml_escape(u_char *dst, u_char *src, size_t len);
ngx_int_t ngx_http_blob_xml_endpoint(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_str_t *out);


/* operations: one file each family */

/* ngx_http_blob_service.c */
ngx_int_t ngx_http_blob_list_containers(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_get_account_info(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_get_service_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_set_service_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);

/* ngx_http_blob_container.c */
ngx_int_t ngx_http_blob_create_container(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_get_container_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_set_container_metadata(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_get_container_acl(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_set_container_acl(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_delete_container(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);

/* ngx_http_blob_list.c */
ngx_int_t ngx_http_blob_list_blobs(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);

/* ngx_http_blob_blob.c */
ngx_int_t ngx_http_blob_put_blob(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_get_blob(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_get_blob_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_set_blob_properties(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_get_blob_metadata(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_set_blob_metadata(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_delete_blob(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_unsupported_blob_type(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);

/* ngx_http_blob_block.c */
ngx_int_t ngx_http_blob_put_block(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_put_block_list(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);
ngx_int_t ngx_http_blob_get_block_list(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx);

/* ngx_http_blob_gc.c: worker timers, no client request */
ngx_int_t ngx_http_blob_gc_init_process(ngx_cycle_t *cycle);
void ngx_http_blob_gc_exit_process(ngx_cycle_t *cycle);


/* added by ngx_http_blob_block.c / ngx_http_blob_xml_reader.c */

/* which list a block of a Put Block List request is looked up in */
#define NGX_HTTP_BLOB_BLOCK_LATEST       0
#define NGX_HTTP_BLOB_BLOCK_COMMITTED    1
#define NGX_HTTP_BLOB_BLOCK_UNCOMMITTED  2

typedef struct {
    ngx_str_t                    id;            /* decoded block id */
    ngx_uint_t                   list;          /* NGX_HTTP_BLOB_BLOCK_* */
} ngx_http_blob_block_ref_t;

ngx_int_t ngx_http_blob_block_id_decode(ngx_pool_t *pool, ngx_str_t *b64,
    ngx_str_t *id);
ngx_http_blob_error_e ngx_http_blob_xml_read_block_list(ngx_pool_t *pool,
    ngx_fd_t fd, ngx_array_t *refs, ngx_uint_t max, ngx_err_t *err);
/* thread: a new version of the same bytes keeps its committed list */
ngx_int_t ngx_http_blob_block_keep_list(ngx_http_blob_ctx_t *ctx,
    uint64_t old_etag, uint64_t new_etag);


/* added by ngx_http_blob_headers.c (hostile input) */

/* content properties are UTF-8 without control characters, or a 400 */
ngx_http_blob_error_e ngx_http_blob_content_headers_check(
    ngx_http_blob_props_t *props, ngx_http_blob_error_detail_t *detail);


#endif /* _NGX_HTTP_BLOB_MODULE_H_INCLUDED_ */

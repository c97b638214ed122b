
/*
 * ngx_blob_module: module definition, directives, configuration.
 */


#include "ngx_http_blob_module.h"

#include <libxml/parser.h>


static void *ngx_http_blob_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_blob_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_blob_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_blob_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_blob(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_blob_add_variables(ngx_conf_t *cf);
static char *ngx_http_blob_account(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_blob_refused(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_blob_load_keys(ngx_conf_t *cf,
    ngx_http_blob_loc_conf_t *blcf);
static ngx_int_t ngx_http_blob_register_roots(ngx_conf_t *cf,
    ngx_http_blob_loc_conf_t *blcf);
static ngx_int_t ngx_http_blob_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_blob_init_process(ngx_cycle_t *cycle);
static void ngx_http_blob_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_blob_task_batch_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_HTTP_BLOB_TASK_BATCH_MAX
};


static ngx_command_t  ngx_http_blob_commands[] = {

    { ngx_string("blob"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_blob,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, enable),
      NULL },

    { ngx_string("blob_refused"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_blob_refused,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("blob_account"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_blob_account,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("blob_keys_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, keys_file),
      NULL },

    { ngx_string("blob_host_suffix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, host_suffix),
      NULL },

    { ngx_string("blob_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, thread_pool_name),
      NULL },

    { ngx_string("blob_max_put_blob_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, max_put_blob),
      NULL },

    { ngx_string("blob_max_put_block_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, max_put_block),
      NULL },

    { ngx_string("blob_body_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, body_buffer_size),
      NULL },

    { ngx_string("blob_fsync"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, fsync),
      NULL },

    { ngx_string("blob_max_inflight"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, max_inflight),
      NULL },

    { ngx_string("blob_anonymous_access"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, anonymous),
      NULL },

    { ngx_string("blob_cached_reads"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_blob_loc_conf_t, cached_reads),
      NULL },

    { ngx_string("blob_task_batch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_blob_main_conf_t, task_batch),
      &ngx_http_blob_task_batch_bounds },

    { ngx_string("blob_properties_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_blob_main_conf_t, props_cache_max),
      NULL },

    { ngx_string("blob_gc_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_blob_main_conf_t, gc_interval),
      NULL },

    { ngx_string("blob_uncommitted_block_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_blob_main_conf_t, gc_block_ttl),
      NULL },

    { ngx_string("blob_temp_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_blob_main_conf_t, gc_temp_ttl),
      NULL },

      ngx_null_command
};


static ngx_http_variable_t  ngx_http_blob_vars[] = {

    { ngx_string("blob_thread_tasks"), NULL, ngx_http_blob_task_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_module_t  ngx_http_blob_module_ctx = {
    ngx_http_blob_add_variables,           /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_blob_create_main_conf,        /* create main configuration */
    ngx_http_blob_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_blob_create_loc_conf,         /* create location configuration */
    ngx_http_blob_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_blob_module = {
    NGX_MODULE_V1,
    &ngx_http_blob_module_ctx,             /* module context */
    ngx_http_blob_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_blob_init_module,             /* init module */
    ngx_http_blob_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_blob_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_blob_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_blob_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_blob_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_blob_main_conf_t  *bmcf;

    bmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_blob_main_conf_t));
    if (bmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&bmcf->roots, cf->pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    bmcf->gc_interval = NGX_CONF_UNSET_MSEC;
    bmcf->gc_block_ttl = NGX_CONF_UNSET;
    bmcf->gc_temp_ttl = NGX_CONF_UNSET;
    bmcf->task_batch = NGX_CONF_UNSET_UINT;
    bmcf->props_cache_max = NGX_CONF_UNSET_UINT;

    return bmcf;
}


static char *
ngx_http_blob_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_blob_main_conf_t *bmcf = conf;

    ngx_str_t  name = ngx_string("default");

    ngx_conf_init_msec_value(bmcf->gc_interval, 10 * 60 * 1000);
    ngx_conf_init_value(bmcf->gc_block_ttl, 7 * 24 * 60 * 60);
    ngx_conf_init_value(bmcf->gc_temp_ttl, 60 * 60);
    ngx_conf_init_uint_value(bmcf->task_batch, NGX_HTTP_BLOB_TASK_BATCH);
    ngx_conf_init_uint_value(bmcf->props_cache_max, 10000);

    /*
     * the collector runs without a request, so it cannot follow a
     * location's blob_thread_pool; it uses the default pool, which
     * ngx_thread_pool_add() creates on demand
     */

    bmcf->gc_thread_pool = ngx_thread_pool_add(cf, &name);
    if (bmcf->gc_thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_blob_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_blob_loc_conf_t  *blcf;

    blcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_blob_loc_conf_t));
    if (blcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     blcf->keys_file = { 0, NULL };
     *     blcf->host_suffix = { 0, NULL };
     *     blcf->thread_pool_name = { 0, NULL };
     *     blcf->thread_pool = NULL;
     */

    blcf->enable = NGX_CONF_UNSET;
    blcf->accounts = NGX_CONF_UNSET_PTR;
    blcf->max_put_blob = NGX_CONF_UNSET;
    blcf->max_put_block = NGX_CONF_UNSET;
    blcf->body_buffer_size = NGX_CONF_UNSET_SIZE;
    blcf->fsync = NGX_CONF_UNSET;
    blcf->max_inflight = NGX_CONF_UNSET_UINT;
    blcf->anonymous = NGX_CONF_UNSET;
    blcf->cached_reads = NGX_CONF_UNSET;

    return blcf;
}


static char *
ngx_http_blob_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_blob_loc_conf_t *prev = parent;
    ngx_http_blob_loc_conf_t *conf = child;

    char  *rv;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_ptr_value(conf->accounts, prev->accounts, NULL);
    ngx_conf_merge_str_value(conf->keys_file, prev->keys_file, "");
    ngx_conf_merge_str_value(conf->host_suffix, prev->host_suffix,
                             "blob.core.windows.net");
    ngx_conf_merge_str_value(conf->thread_pool_name, prev->thread_pool_name,
                             "default");
    ngx_conf_merge_off_value(conf->max_put_blob, prev->max_put_blob,
                             NGX_HTTP_BLOB_MAX_PUT_BLOB);
    ngx_conf_merge_off_value(conf->max_put_block, prev->max_put_block,
                             NGX_HTTP_BLOB_MAX_PUT_BLOCK);
    /*
     * 64k: few enough thread round trips for a fast stream, and 1,000
     * uploads in flight hold 80 MiB of buffers, not a gigabyte; a hashed
     * body over 1 MiB (Put Blob) takes 1 MiB more (ngx_http_blob_body.c)
     */

    ngx_conf_merge_size_value(conf->body_buffer_size, prev->body_buffer_size,
                              64 * 1024);
    ngx_conf_merge_value(conf->fsync, prev->fsync, 1);
    ngx_conf_merge_uint_value(conf->max_inflight, prev->max_inflight, 0);
    ngx_conf_merge_value(conf->anonymous, prev->anonymous, 1);
    ngx_conf_merge_value(conf->cached_reads, prev->cached_reads, 1);

    if (conf->max_put_blob > NGX_HTTP_BLOB_MAX_PUT_BLOB
        || conf->max_put_block > NGX_HTTP_BLOB_MAX_PUT_BLOCK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "blob_max_put_blob_size and "
                           "blob_max_put_block_size cannot exceed Azure's "
                           "limits of 5000m and 4000m");
        return NGX_CONF_ERROR;
    }

    if (conf->body_buffer_size < 4096) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "blob_body_buffer_size must be at least 4k");
        return NGX_CONF_ERROR;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    /*
     * nginx reads an unbuffered request body into a buffer of
     * client_body_buffer_size (8k or 16k by default): one thread task per
     * buffer would make a 256 MiB upload 32,000 round trips.  The core
     * module's configuration of this location is merged by now.
     */

    if (conf->core) {
        conf->core->client_body_buffer_size = conf->body_buffer_size;
    }

    if (conf->accounts == NULL || conf->accounts->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"blob\" is on but no \"blob_account\" is "
                           "configured");
        return NGX_CONF_ERROR;
    }

    conf->thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
    if (conf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    if (conf->keys_file.len) {
        rv = ngx_http_blob_load_keys(cf, conf);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (ngx_http_blob_register_roots(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_blob(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;
    char                      *rv;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (((ngx_http_blob_loc_conf_t *) conf)->enable) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        clcf->handler = ngx_http_blob_handler;
        ((ngx_http_blob_loc_conf_t *) conf)->core = clcf;
    }

    return NGX_CONF_OK;
}


/*
 * "error_page 400 414 494 /.blob-refused;
 *  location = /.blob-refused { blob_refused; }":
 * requests nginx itself refuses before any location sees them (a malformed
 * URI, headers too large) get an Azure error instead of an HTML page.  A
 * URI, not a named location: nginx cannot redirect a request whose URI it
 * could not parse to a named one.  No account is named ".blob-refused".
 */

static char *
ngx_http_blob_refused(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_blob_refused_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_blob_account(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_blob_loc_conf_t *blcf = conf;

    ngx_str_t                *value;
    ngx_uint_t                i;
    ngx_http_blob_account_t  *account;

    value = cf->args->elts;

    /* Azure's rule for account names: 3-24 lowercase letters and digits */

    if (value[1].len < 3 || value[1].len > 24) {
        goto invalid;
    }

    for (i = 0; i < value[1].len; i++) {
        if (!((value[1].data[i] >= 'a' && value[1].data[i] <= 'z')
              || (value[1].data[i] >= '0' && value[1].data[i] <= '9')))
        {
            goto invalid;
        }
    }

    if (blcf->accounts == NGX_CONF_UNSET_PTR) {
        blcf->accounts = ngx_array_create(cf->pool, 2,
                                          sizeof(ngx_http_blob_account_t));
        if (blcf->accounts == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    account = blcf->accounts->elts;

    for (i = 0; i < blcf->accounts->nelts; i++) {
        if (account[i].name.len == value[1].len
            && ngx_strncmp(account[i].name.data, value[1].data,
                           value[1].len) == 0)
        {
            return "is duplicate";
        }
    }

    account = ngx_array_push(blcf->accounts);
    if (account == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(account, sizeof(ngx_http_blob_account_t));

    account->name = value[1];
    account->root = value[2];

    if (ngx_conf_full_name(cf->cycle, &account->root, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    while (account->root.len > 1
           && account->root.data[account->root.len - 1] == '/')
    {
        account->root.len--;
    }

    ngx_http_blob_store_probe_root(cf, account);

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid account name \"%V\": 3 to 24 lowercase "
                       "letters and digits", &value[1]);
    return NGX_CONF_ERROR;
}


/*
 * The keys file holds "account key1 [key2]" lines with base64 keys.  It is
 * read while the configuration is parsed, so "nginx -s reload" re-reads it,
 * and keys never appear in nginx.conf.  Key material is never logged.
 */

static char *
ngx_http_blob_load_keys(ngx_conf_t *cf, ngx_http_blob_loc_conf_t *blcf)
{
    u_char                   *p, *last, *line, *eol, *word[4], key[128];
    size_t                    len[4];
    ssize_t                   n;
    ngx_fd_t                  fd;
    ngx_str_t                 file, src, dst;
    ngx_uint_t                i, nwords, lineno;
    ngx_file_info_t           fi;
    ngx_http_blob_account_t  *account;

    file = blcf->keys_file;

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", file.data);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "keys file \"%s\" is unreadable or too large",
                           file.data);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->temp_pool, ngx_file_size(&fi) + 1);
    if (p == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, p, ngx_file_size(&fi));
    ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read keys file \"%s\"", file.data);
        return NGX_CONF_ERROR;
    }

    last = p + n;
    lineno = 0;

    for (line = p; line < last; line = eol + 1) {

        lineno++;

        eol = ngx_strlchr(line, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        nwords = 0;

        for (p = line; p < eol && nwords < 4; /* void */) {

            while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r')) {
                p++;
            }

            if (p == eol || *p == '#') {
                break;
            }

            word[nwords] = p;

            while (p < eol && *p != ' ' && *p != '\t' && *p != '\r') {
                p++;
            }

            len[nwords] = p - word[nwords];
            nwords++;
        }

        if (nwords == 0) {
            continue;
        }

        if (nwords < 2 || nwords > 3) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "keys file \"%s\", line %ui: expected "
                               "\"account key1 [key2]\"", file.data, lineno);
            return NGX_CONF_ERROR;
        }

        account = blcf->accounts->elts;

        for (i = 0; i < blcf->accounts->nelts; i++) {
            if (account[i].name.len == len[0]
                && ngx_strncmp(account[i].name.data, word[0], len[0]) == 0)
            {
                break;
            }
        }

        if (i == blcf->accounts->nelts) {
            /* keys of accounts served by other locations */
            continue;
        }

        account = &account[i];
        account->nkeys = 0;

        for (i = 1; i < nwords; i++) {
            src.data = word[i];
            src.len = len[i];
            dst.data = key;

            if (ngx_base64_decoded_length(src.len) > sizeof(key)
                || ngx_decode_base64(&dst, &src) != NGX_OK
                || dst.len == 0
                || dst.len > sizeof(account->key[0]))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "keys file \"%s\", line %ui: key %ui is "
                                   "not valid base64 of at most 64 bytes",
                                   file.data, lineno, i);
                return NGX_CONF_ERROR;
            }

            ngx_memcpy(account->key[account->nkeys], key, dst.len);
            account->key_len[account->nkeys] = dst.len;

            if (ngx_http_blob_hmac_init(cf->pool, account, account->nkeys)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "keys file \"%s\", line %ui: OpenSSL "
                                   "cannot make an HMAC-SHA256 context",
                                   file.data, lineno);
                return NGX_CONF_ERROR;
            }

            account->nkeys++;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_blob_register_roots(ngx_conf_t *cf, ngx_http_blob_loc_conf_t *blcf)
{
    ngx_str_t                  *root;
    ngx_uint_t                  i, j;
    ngx_http_blob_account_t    *account;
    ngx_http_blob_main_conf_t  *bmcf;

    bmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_blob_module);

    account = blcf->accounts->elts;

    for (i = 0; i < blcf->accounts->nelts; i++) {

        root = bmcf->roots.elts;

        for (j = 0; j < bmcf->roots.nelts; j++) {
            if (root[j].len == account[i].root.len
                && ngx_strncmp(root[j].data, account[i].root.data,
                               root[j].len) == 0)
            {
                break;
            }
        }

        if (j < bmcf->roots.nelts) {
            continue;
        }

        root = ngx_array_push(&bmcf->roots);
        if (root == NULL) {
            return NGX_ERROR;
        }

        *root = account[i].root;
    }

    return NGX_OK;
}


/*
 * libxml2 initialises itself on first use, which is not thread-safe; XML is
 * parsed both on the event loop and in thread tasks, so do it once here,
 * before the workers start their thread pools.
 */

static ngx_int_t
ngx_http_blob_init_module(ngx_cycle_t *cycle)
{
    xmlInitParser();

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_blob_task_init_process(cycle) != NGX_OK
        || ngx_http_blob_props_cache_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_blob_gc_init_process(cycle);
}


static void
ngx_http_blob_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_blob_gc_exit_process(cycle);
}

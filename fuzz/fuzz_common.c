
/*
 * ngx_blob_module fuzzing: the configuration every target runs with, and
 * a request built from the input by nginx's own HTTP parser.
 *
 * The input of the request targets is an HTTP request head as it arrives
 * on the wire ("PUT /devstoreaccount1/c/b?comp=block HTTP/1.1\r\n" and
 * header lines).  It goes through ngx_http_parse_request_line(),
 * ngx_http_parse_complex_uri() and ngx_http_parse_header_line() and the
 * checks ngx_http_request.c makes around them (Host, Content-Length,
 * Transfer-Encoding, line lengths), so that a target never hands the module
 * a request nginx would have refused with 400: a crash found here is one a
 * client can cause.
 *
 * One header is the harness's own: "fuzz-clock: <unix time>" sets the
 * clock.  Without it the clock is the request's x-ms-date (or Date), so
 * that a signed seed stays within Shared Key's 15 minutes however old the
 * seed is, or else 2024-06-01, when the SAS seeds are valid.
 */


#include "fuzz_common.h"

#include <stdio.h>


/* large_client_header_buffers 4 8k, nginx's default */
#define NGX_HTTP_BLOB_FUZZ_LINE_MAX  8192

/* room after the request for the parser's word-sized comparisons */
#define NGX_HTTP_BLOB_FUZZ_SLACK     16


ngx_log_t                   ngx_http_blob_fuzz_log;
ngx_http_blob_loc_conf_t    ngx_http_blob_fuzz_loc_conf;
ngx_http_blob_main_conf_t   ngx_http_blob_fuzz_main_conf;

/* the thread task the last request posted (never run: no filesystem) */
ngx_thread_task_t          *ngx_http_blob_fuzz_task;


static ngx_time_t           ngx_http_blob_fuzz_time;
static ngx_cycle_t          ngx_http_blob_fuzz_cycle;
static struct sockaddr_in   ngx_http_blob_fuzz_sin;
static void                *ngx_http_blob_fuzz_main_confs[1];
static void                *ngx_http_blob_fuzz_loc_confs[1];


static ngx_int_t ngx_http_blob_fuzz_headers(ngx_http_request_t *r,
    ngx_buf_t *b);
static ngx_int_t ngx_http_blob_fuzz_known_header(ngx_http_request_t *r,
    ngx_table_elt_t *h);
static ngx_int_t ngx_http_blob_fuzz_validate_host(ngx_str_t *host,
    ngx_pool_t *pool);


void
ngx_http_blob_fuzz_init(void)
{
    ngx_str_t                 key, decoded;
    ngx_pool_t               *pool;
    ngx_http_blob_account_t  *account;

    ngx_pagesize = getpagesize();
    for (ngx_pagesize_shift = 0; (ngx_pagesize >> ngx_pagesize_shift) > 1;
         ngx_pagesize_shift++)
    {
        /* void */
    }

    ngx_cacheline_size = NGX_CPU_CACHE_LINE;

    ngx_time_init();

    /*
     * every level, debug included, so that the format strings run too;
     * but the allocator's (one line per ngx_palloc() with
     * NGX_DEBUG_PALLOC), which would halve the executions per second
     */
    ngx_http_blob_fuzz_log.log_level = NGX_LOG_DEBUG_ALL
                                       & ~NGX_LOG_DEBUG_ALLOC;

    ngx_http_blob_fuzz_cycle.log = &ngx_http_blob_fuzz_log;
    ngx_cycle = &ngx_http_blob_fuzz_cycle;

    ngx_http_blob_module.ctx_index = 0;

    pool = ngx_create_pool(16384, &ngx_http_blob_fuzz_log);
    if (pool == NULL) {
        ngx_http_blob_fuzz_fail(__FILE__, __LINE__, "ngx_create_pool");
    }

    ngx_http_blob_fuzz_loc_conf.enable = 1;
    ngx_http_blob_fuzz_loc_conf.accounts = ngx_array_create(pool, 1,
                                              sizeof(ngx_http_blob_account_t));
    if (ngx_http_blob_fuzz_loc_conf.accounts == NULL) {
        ngx_http_blob_fuzz_fail(__FILE__, __LINE__, "ngx_array_create");
    }

    account = ngx_array_push(ngx_http_blob_fuzz_loc_conf.accounts);
    ngx_memzero(account, sizeof(ngx_http_blob_account_t));

    ngx_str_set(&account->name, NGX_HTTP_BLOB_FUZZ_ACCOUNT);
    ngx_str_set(&account->root, NGX_HTTP_BLOB_FUZZ_ROOT);

    /* the development key, and a second one as during a key rotation */

    ngx_str_set(&key, NGX_HTTP_BLOB_FUZZ_KEY);
    decoded.data = account->key[0];
    ngx_decode_base64(&decoded, &key);
    account->key_len[0] = decoded.len;

    ngx_memset(account->key[1], 'k', 64);
    account->key_len[1] = 64;
    account->nkeys = 2;

    if (ngx_http_blob_hmac_init(pool, account, 0)
        != NGX_OK
        || ngx_http_blob_hmac_init(pool, account, 1)
           != NGX_OK)
    {
        ngx_http_blob_fuzz_fail(__FILE__, __LINE__, "hmac_init");
    }

    ngx_str_set(&ngx_http_blob_fuzz_loc_conf.host_suffix,
                "blob.core.windows.net");
    ngx_str_set(&ngx_http_blob_fuzz_loc_conf.thread_pool_name, "blob");
    ngx_http_blob_fuzz_loc_conf.max_put_blob = NGX_HTTP_BLOB_MAX_PUT_BLOB;
    ngx_http_blob_fuzz_loc_conf.max_put_block = NGX_HTTP_BLOB_MAX_PUT_BLOCK;
    ngx_http_blob_fuzz_loc_conf.body_buffer_size = 1024 * 1024;
    ngx_http_blob_fuzz_loc_conf.fsync = 1;
    ngx_http_blob_fuzz_loc_conf.anonymous = 1;

    ngx_http_blob_fuzz_main_confs[0] = &ngx_http_blob_fuzz_main_conf;
    ngx_http_blob_fuzz_loc_confs[0] = &ngx_http_blob_fuzz_loc_conf;

    ngx_http_blob_fuzz_sin.sin_family = AF_INET;
    ngx_http_blob_fuzz_sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ngx_http_blob_fuzz_sin.sin_port = htons(54321);

    ngx_http_blob_fuzz_set_time(NGX_HTTP_BLOB_FUZZ_TIME);
}


ngx_pool_t *
ngx_http_blob_fuzz_pool(void)
{
    ngx_pool_t  *pool;

    pool = ngx_create_pool(4096, &ngx_http_blob_fuzz_log);
    if (pool == NULL) {
        ngx_http_blob_fuzz_fail(__FILE__, __LINE__, "ngx_create_pool");
    }

    ngx_http_blob_fuzz_task = NULL;

    return pool;
}


/* NULL when nginx would have refused the request before any handler */

ngx_http_request_t *
ngx_http_blob_fuzz_request(ngx_pool_t *pool, const uint8_t *data,
    size_t size)
{
    u_char              *copy;
    ngx_buf_t            b;
    ngx_str_t            host;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (size == 0) {
        return NULL;
    }

    /*
     * nginx reads a request into client_header_buffer_size (1k) or larger
     * buffers, and its parser compares methods 4 bytes at a time, past the
     * method's end: the copy has those few bytes of slack, zeroed, as the
     * buffer nginx reads into has (found by the fuzzer: "DELEQE ")
     */

    copy = ngx_pcalloc(pool, size + NGX_HTTP_BLOB_FUZZ_SLACK);
    if (copy == NULL) {
        return NULL;
    }

    ngx_memcpy(copy, data, size);

    ngx_memzero(&b, sizeof(ngx_buf_t));
    b.start = copy;
    b.pos = copy;
    b.last = copy + size;
    b.end = copy + size;
    b.temporary = 1;

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    if (r == NULL || c == NULL) {
        return NULL;
    }

    c->log = &ngx_http_blob_fuzz_log;
    c->pool = pool;
    c->fd = (ngx_socket_t) -1;
    c->sockaddr = (struct sockaddr *) &ngx_http_blob_fuzz_sin;
    c->socklen = sizeof(struct sockaddr_in);
    c->requests = 1;

    r->connection = c;
    r->pool = pool;
    r->main = r;
    r->count = 1;
    r->main_conf = ngx_http_blob_fuzz_main_confs;
    r->loc_conf = ngx_http_blob_fuzz_loc_confs;

    r->ctx = ngx_pcalloc(pool, sizeof(void *));
    if (r->ctx == NULL) {
        return NULL;
    }

    if (ngx_list_init(&r->headers_in.headers, pool, 20,
                      sizeof(ngx_table_elt_t))
        != NGX_OK
        || ngx_list_init(&r->headers_out.headers, pool, 20,
                         sizeof(ngx_table_elt_t))
           != NGX_OK
        || ngx_list_init(&r->headers_out.trailers, pool, 4,
                         sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        return NULL;
    }

    r->headers_in.content_length_n = -1;
    r->headers_in.keep_alive_n = -1;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    /* ngx_http_process_request_line() */

    if (ngx_http_parse_request_line(r, &b) != NGX_OK) {
        return NULL;
    }

    if (r->request_end - r->request_start > NGX_HTTP_BLOB_FUZZ_LINE_MAX) {
        return NULL;
    }

    r->request_line.len = r->request_end - r->request_start;
    r->request_line.data = r->request_start;

    r->method_name.len = r->method_end - r->request_start + 1;
    r->method_name.data = r->request_line.data;

    if (r->http_protocol.data) {
        r->http_protocol.len = r->request_end - r->http_protocol.data;
    }

    /* ngx_http_process_request_uri() */

    if (r->args_start) {
        r->uri.len = r->args_start - 1 - r->uri_start;

    } else {
        r->uri.len = r->uri_end - r->uri_start;
    }

    if (r->complex_uri || r->quoted_uri || r->empty_path_in_uri) {

        if (r->empty_path_in_uri) {
            r->uri.len++;
        }

        r->uri.data = ngx_pnalloc(pool, r->uri.len);
        if (r->uri.data == NULL) {
            return NULL;
        }

        /* merge_slashes on, nginx's default */
        if (ngx_http_parse_complex_uri(r, 1) != NGX_OK) {
            return NULL;
        }

    } else {
        r->uri.data = r->uri_start;
    }

    r->unparsed_uri.len = r->uri_end - r->uri_start;
    r->unparsed_uri.data = r->uri_start;
    r->valid_unparsed_uri = r->empty_path_in_uri ? 0 : 1;

    if (r->args_start && r->uri_end > r->args_start) {
        r->args.len = r->uri_end - r->args_start;
        r->args.data = r->args_start;
    }

    if (r->host_start && r->host_end) {
        host.len = r->host_end - r->host_start;
        host.data = r->host_start;

        if (ngx_http_blob_fuzz_validate_host(&host, pool) != NGX_OK) {
            return NULL;
        }

        r->headers_in.server = host;
    }

    if (r->http_version < NGX_HTTP_VERSION_10) {
        return r;
    }

    if (ngx_http_blob_fuzz_headers(r, &b) != NGX_OK) {
        return NULL;
    }

    /* ngx_http_process_request_header() */

    if (r->headers_in.server.len == 0
        && r->http_version > NGX_HTTP_VERSION_10)
    {
        return NULL;
    }

    if (r->headers_in.content_length) {
        r->headers_in.content_length_n =
                            ngx_atoof(r->headers_in.content_length->value.data,
                                      r->headers_in.content_length->value.len);

        if (r->headers_in.content_length_n == NGX_ERROR) {
            return NULL;
        }
    }

    if (r->headers_in.transfer_encoding) {

        if (r->http_version < NGX_HTTP_VERSION_11
            || r->headers_in.content_length)
        {
            return NULL;
        }

        if (r->headers_in.transfer_encoding->value.len == 7
            && ngx_strncasecmp(r->headers_in.transfer_encoding->value.data,
                               (u_char *) "chunked", 7) == 0)
        {
            r->headers_in.chunked = 1;

        } else {
            return NULL;
        }
    }

    return r;
}


/* ngx_http_process_request_headers(): ignore_invalid_headers on */

static ngx_int_t
ngx_http_blob_fuzz_headers(ngx_http_request_t *r, ngx_buf_t *b)
{
    u_char           *start;
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    for ( ;; ) {
        start = b->pos;

        /* underscores_in_headers on, as conf.d/gateway.conf has it:
         * metadata names may hold "_" */
        rc = ngx_http_parse_header_line(r, b, 1);

        if (b->pos - start > NGX_HTTP_BLOB_FUZZ_LINE_MAX) {
            return NGX_ERROR;
        }

        if (rc == NGX_HTTP_PARSE_HEADER_DONE) {
            return NGX_OK;
        }

        if (rc != NGX_OK) {
            /* NGX_AGAIN: the head never ends; or an invalid header line */
            return NGX_ERROR;
        }

        if (r->invalid_header) {
            continue;
        }

        h = ngx_list_push(&r->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = r->header_hash;

        h->key.len = r->header_name_end - r->header_name_start;
        h->key.data = r->header_name_start;
        h->key.data[h->key.len] = '\0';

        h->value.len = r->header_end - r->header_start;
        h->value.data = r->header_start;
        h->value.data[h->value.len] = '\0';

        h->lowcase_key = ngx_pnalloc(r->pool, h->key.len);
        if (h->lowcase_key == NULL) {
            return NGX_ERROR;
        }

        if (h->key.len == r->lowcase_index) {
            ngx_memcpy(h->lowcase_key, r->lowcase_header, h->key.len);

        } else {
            ngx_strlow(h->lowcase_key, h->key.data, h->key.len);
        }

        if (ngx_http_blob_fuzz_known_header(r, h) != NGX_OK) {
            return NGX_ERROR;
        }
    }
}


/* the entries of ngx_http_headers_in[] the module looks at */

static ngx_int_t
ngx_http_blob_fuzz_known_header(ngx_http_request_t *r, ngx_table_elt_t *h)
{
    ngx_str_t          host;
    ngx_uint_t         i, unique;
    ngx_table_elt_t  **ph;

    static struct {
        ngx_str_t      name;
        size_t         offset;
        ngx_uint_t     unique;
    }  known[] = {
        { ngx_string("host"),
          offsetof(ngx_http_headers_in_t, host), 1 },
        { ngx_string("content-length"),
          offsetof(ngx_http_headers_in_t, content_length), 1 },
        { ngx_string("content-type"),
          offsetof(ngx_http_headers_in_t, content_type), 0 },
        { ngx_string("range"),
          offsetof(ngx_http_headers_in_t, range), 0 },
        { ngx_string("if-match"),
          offsetof(ngx_http_headers_in_t, if_match), 1 },
        { ngx_string("if-none-match"),
          offsetof(ngx_http_headers_in_t, if_none_match), 1 },
        { ngx_string("if-modified-since"),
          offsetof(ngx_http_headers_in_t, if_modified_since), 1 },
        { ngx_string("if-unmodified-since"),
          offsetof(ngx_http_headers_in_t, if_unmodified_since), 1 },
        { ngx_string("transfer-encoding"),
          offsetof(ngx_http_headers_in_t, transfer_encoding), 1 },
        { ngx_null_string, 0, 0 }
    };

    for (i = 0; known[i].name.len; i++) {
        if (known[i].name.len == h->key.len
            && ngx_strncmp(known[i].name.data, h->lowcase_key, h->key.len)
               == 0)
        {
            break;
        }
    }

    if (known[i].name.len == 0) {
        return NGX_OK;
    }

    ph = (ngx_table_elt_t **) ((u_char *) &r->headers_in + known[i].offset);
    unique = known[i].unique;

    if (*ph != NULL) {
        /* "client sent duplicate header line": 400 */
        return unique ? NGX_ERROR : NGX_OK;
    }

    *ph = h;

    if (i == 0) {
        /* ngx_http_process_host() */
        host = h->value;

        if (ngx_http_blob_fuzz_validate_host(&host, r->pool) != NGX_OK) {
            return NGX_ERROR;
        }

        if (r->headers_in.server.len == 0) {
            r->headers_in.server = host;
        }
    }

    return NGX_OK;
}


/* ngx_http_validate_host() of nginx 1.22, static there */

static ngx_int_t
ngx_http_blob_fuzz_validate_host(ngx_str_t *host, ngx_pool_t *pool)
{
    u_char      *h, ch;
    size_t       i, dot_pos, host_len;
    ngx_uint_t   alloc;

    enum {
        sw_usual = 0,
        sw_literal,
        sw_rest
    } state;

    dot_pos = host->len;
    host_len = host->len;
    alloc = 0;

    h = host->data;

    state = sw_usual;

    for (i = 0; i < host->len; i++) {
        ch = h[i];

        switch (ch) {

        case '.':
            if (dot_pos == i - 1) {
                return NGX_DECLINED;
            }
            dot_pos = i;
            break;

        case ':':
            if (state == sw_usual) {
                host_len = i;
                state = sw_rest;
            }
            break;

        case '[':
            if (i == 0) {
                state = sw_literal;
            }
            break;

        case ']':
            if (state == sw_literal) {
                host_len = i + 1;
                state = sw_rest;
            }
            break;

        default:

            if (ngx_path_separator(ch)) {
                return NGX_DECLINED;
            }

            if (ch <= 0x20 || ch == 0x7f) {
                return NGX_DECLINED;
            }

            if (ch >= 'A' && ch <= 'Z') {
                alloc = 1;
            }

            break;
        }
    }

    if (dot_pos == host_len - 1) {
        host_len--;
    }

    if (host_len == 0) {
        return NGX_DECLINED;
    }

    if (alloc) {
        host->data = ngx_pnalloc(pool, host_len);
        if (host->data == NULL) {
            return NGX_ERROR;
        }

        ngx_strlow(host->data, h, host_len);
    }

    host->len = host_len;

    return NGX_OK;
}


void
ngx_http_blob_fuzz_set_time(time_t sec)
{
    ngx_http_blob_fuzz_time.sec = sec;
    ngx_http_blob_fuzz_time.msec = 0;
    ngx_http_blob_fuzz_time.gmtoff = 0;

    ngx_cached_time = &ngx_http_blob_fuzz_time;
}


void
ngx_http_blob_fuzz_clock(ngx_http_request_t *r)
{
    time_t     t;
    ngx_str_t  value;

    t = NGX_ERROR;

    if (ngx_http_blob_header_in_value(r, "fuzz-clock", &value) == NGX_OK) {
        t = ngx_atotm(value.data, value.len);

    } else if (ngx_http_blob_header_in_value(r, "x-ms-date", &value) == NGX_OK
               || ngx_http_blob_header_in_value(r, "date", &value) == NGX_OK)
    {
        t = ngx_parse_http_time(value.data, value.len);
    }

    ngx_http_blob_fuzz_set_time(t == NGX_ERROR ? NGX_HTTP_BLOB_FUZZ_TIME : t);
}


/* the request is over: everything it held is given back */

void
ngx_http_blob_fuzz_done(ngx_pool_t *pool)
{
    ngx_destroy_pool(pool);

    ngx_http_blob_fuzz_assert(ngx_http_blob_fuzz_main_conf.inflight == 0);

    ngx_http_blob_fuzz_task = NULL;
}


/* nothing that reaches a response header may split it */

void
ngx_http_blob_fuzz_check_headers_out(ngx_http_request_t *r)
{
    size_t            j;
    ngx_uint_t        i;
    ngx_str_t        *s;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        ngx_http_blob_fuzz_assert(h[i].key.len > 0);

        for (j = 0; j < h[i].key.len; j++) {
            ngx_http_blob_fuzz_assert(h[i].key.data[j] > 0x20
                                      && h[i].key.data[j] != ':'
                                      && h[i].key.data[j] < 0x7f);
        }

        for (j = 0; j < h[i].value.len; j++) {
            ngx_http_blob_fuzz_assert(h[i].value.data[j] != CR
                                      && h[i].value.data[j] != LF
                                      && h[i].value.data[j] != '\0');
        }
    }

    s = &r->headers_out.content_type;

    for (j = 0; j < s->len; j++) {
        ngx_http_blob_fuzz_assert(s->data[j] != CR && s->data[j] != LF
                                  && s->data[j] != '\0');
    }
}


/*
 * The oracle for a name the module accepted, written from docs/LAYOUT.md
 * and not from the module's code: a container is 3-63 of [a-z0-9-] without
 * a leading, trailing or double hyphen; a blob maps to a path below its
 * container (no empty, "." or ".." segment, no NUL, lengths bounded).
 */

void
ngx_http_blob_fuzz_check_name(ngx_str_t *name, ngx_uint_t container)
{
    u_char  *p, *last, *seg, c;
    size_t   i;

    if (container) {
        ngx_http_blob_fuzz_assert(name->len >= 3 && name->len <= 63);

        for (i = 0; i < name->len; i++) {
            c = name->data[i];

            ngx_http_blob_fuzz_assert((c >= 'a' && c <= 'z')
                                      || (c >= '0' && c <= '9')
                                      || c == '-');
        }

        ngx_http_blob_fuzz_assert(name->data[0] != '-'
                                  && name->data[name->len - 1] != '-');

        for (i = 1; i < name->len; i++) {
            ngx_http_blob_fuzz_assert(!(name->data[i] == '-'
                                        && name->data[i - 1] == '-'));
        }

        return;
    }

    ngx_http_blob_fuzz_assert(name->len >= 1
                              && name->len <= NGX_HTTP_BLOB_MAX_NAME);

    p = name->data;
    last = p + name->len;

    while (p <= last) {
        seg = p;

        while (p < last && *p != '/') {
            ngx_http_blob_fuzz_assert(*p != '\0');
            p++;
        }

        ngx_http_blob_fuzz_assert(p > seg);
        ngx_http_blob_fuzz_assert(p - seg <= NGX_HTTP_BLOB_MAX_SEGMENT);
        ngx_http_blob_fuzz_assert(!(p - seg == 1 && seg[0] == '.'));
        ngx_http_blob_fuzz_assert(!(p - seg == 2 && seg[0] == '.'
                                    && seg[1] == '.'));
        p++;
    }
}


void
ngx_http_blob_fuzz_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "\nfuzz: %s:%d: check failed: %s\n", file, line, expr);
    abort();
}


/*
 * The request through the module's content handler, at the input's own
 * clock; what it hands back must be something nginx accepts.
 */

ngx_int_t
ngx_http_blob_fuzz_handle(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    ngx_http_blob_fuzz_clock(r);

    rc = ngx_http_blob_handler(r);

    ngx_http_blob_fuzz_assert(rc == NGX_OK || rc == NGX_DONE
                              || rc == NGX_ERROR || rc == NGX_DECLINED
                              || (rc >= NGX_HTTP_OK && rc < 600));

    return rc;
}

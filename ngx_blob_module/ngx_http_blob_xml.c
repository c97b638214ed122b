
/*
 * ngx_blob_module: the XML response writer.
 *
 * A listing of 5000 blobs with metadata runs to megabytes whose size is
 * known only at the end, so the writer appends to a chain of pool buffers
 * of a fixed size instead of sizing one buffer up front; the total gives
 * Content-Length.  Text is escaped on the way in, and what XML 1.0 cannot
 * hold at all (control characters, broken UTF-8) becomes U+FFFD: a
 * response document must always parse.
 */


#include "ngx_http_blob_module.h"


#define NGX_HTTP_BLOB_XML_CHUNK  16384


static u_char *ngx_http_blob_xml_reserve(ngx_http_blob_xml_t *x, size_t len);
static size_t ngx_http_blob_xml_utf8(u_char *p, size_t n, uint32_t *u);


ngx_int_t
ngx_http_blob_xml_init(ngx_http_blob_xml_t *x, ngx_pool_t *pool)
{
    x->first = NULL;
    x->last = &x->first;
    x->buf = NULL;
    x->pool = pool;
    x->chunk = NGX_HTTP_BLOB_XML_CHUNK;
    x->total = 0;
    x->failed = 0;

    ngx_http_blob_xml_cstr(x, "<?xml version=\"1.0\" encoding=\"utf-8\"?>");

    return x->failed ? NGX_ERROR : NGX_OK;
}


/*
 * Returns room for len contiguous bytes at the end of the chain; the
 * caller writes there and moves buf->last itself.
 */

static u_char *
ngx_http_blob_xml_reserve(ngx_http_blob_xml_t *x, size_t len)
{
    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (x->failed) {
        return NULL;
    }

    b = x->buf;

    if (b != NULL && (size_t) (b->end - b->last) >= len) {
        x->total += len;
        return b->last;
    }

    size = ngx_max(len, x->chunk);

    b = ngx_create_temp_buf(x->pool, size);
    if (b == NULL) {
        x->failed = 1;
        return NULL;
    }

    cl = ngx_alloc_chain_link(x->pool);
    if (cl == NULL) {
        x->failed = 1;
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    *x->last = cl;
    x->last = &cl->next;
    x->buf = b;

    x->total += len;

    return b->last;
}


void
ngx_http_blob_xml_raw(ngx_http_blob_xml_t *x, u_char *data, size_t len)
{
    u_char  *p;

    if (len == 0) {
        return;
    }

    p = ngx_http_blob_xml_reserve(x, len);
    if (p == NULL) {
        return;
    }

    x->buf->last = ngx_cpymem(p, data, len);
}


void
ngx_http_blob_xml_cstr(ngx_http_blob_xml_t *x, char *s)
{
    ngx_http_blob_xml_raw(x, (u_char *) s, ngx_strlen(s));
}


void
ngx_http_blob_xml_text(ngx_http_blob_xml_t *x, ngx_str_t *text)
{
    size_t   len;
    u_char  *p;

    if (text->len == 0) {
        return;
    }

    len = ngx_http_blob_xml_escape(NULL, text->data, text->len);

    p = ngx_http_blob_xml_reserve(x, len);
    if (p == NULL) {
        return;
    }

    x->buf->last = p + ngx_http_blob_xml_escape(p, text->data, text->len);
}


void
ngx_http_blob_xml_open(ngx_http_blob_xml_t *x, char *name)
{
    size_t   len;
    u_char  *p;

    len = ngx_strlen(name);

    p = ngx_http_blob_xml_reserve(x, len + 2);
    if (p == NULL) {
        return;
    }

    *p++ = '<';
    p = ngx_cpymem(p, name, len);
    *p++ = '>';

    x->buf->last = p;
}


void
ngx_http_blob_xml_close(ngx_http_blob_xml_t *x, char *name)
{
    size_t   len;
    u_char  *p;

    len = ngx_strlen(name);

    p = ngx_http_blob_xml_reserve(x, len + 3);
    if (p == NULL) {
        return;
    }

    *p++ = '<';
    *p++ = '/';
    p = ngx_cpymem(p, name, len);
    *p++ = '>';

    x->buf->last = p;
}


/* an empty value is written as Azure writes it: <Content-Encoding /> */

void
ngx_http_blob_xml_element(ngx_http_blob_xml_t *x, char *name,
    ngx_str_t *text)
{
    size_t   len;
    u_char  *p;

    if (text == NULL || text->len == 0) {
        len = ngx_strlen(name);

        p = ngx_http_blob_xml_reserve(x, len + sizeof("< />") - 1);
        if (p == NULL) {
            return;
        }

        *p++ = '<';
        p = ngx_cpymem(p, name, len);
        p = ngx_cpymem(p, " />", 3);

        x->buf->last = p;
        return;
    }

    ngx_http_blob_xml_open(x, name);
    ngx_http_blob_xml_text(x, text);
    ngx_http_blob_xml_close(x, name);
}


void
ngx_http_blob_xml_element_cstr(ngx_http_blob_xml_t *x, char *name,
    char *text)
{
    ngx_str_t  s;

    s.data = (u_char *) text;
    s.len = ngx_strlen(text);

    ngx_http_blob_xml_element(x, name, &s);
}


void
ngx_http_blob_xml_element_time(ngx_http_blob_xml_t *x, char *name,
    time_t t)
{
    u_char  *p;

    ngx_http_blob_xml_open(x, name);

    p = ngx_http_blob_xml_reserve(x,
                                  sizeof("Mon, 28 Sep 1970 06:00:00 GMT") - 1);
    if (p == NULL) {
        return;
    }

    x->buf->last = ngx_http_time(p, t);

    ngx_http_blob_xml_close(x, name);
}


void
ngx_http_blob_xml_element_off(ngx_http_blob_xml_t *x, char *name, off_t n)
{
    u_char  *p, *last;

    ngx_http_blob_xml_open(x, name);

    p = ngx_http_blob_xml_reserve(x, NGX_OFF_T_LEN);
    if (p == NULL) {
        return;
    }

    last = ngx_sprintf(p, "%O", n);

    /* reserve() counted the worst case */
    x->total -= NGX_OFF_T_LEN - (last - p);
    x->buf->last = last;

    ngx_http_blob_xml_close(x, name);
}


ngx_int_t
ngx_http_blob_xml_send(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_uint_t status, ngx_http_blob_xml_t *x)
{
    ngx_int_t  rc;

    if (x->failed) {
        return ngx_http_blob_error(r, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR, NULL);
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = x->total;

    ngx_str_set(&r->headers_out.content_type, "application/xml");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_blob_common_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (x->first == NULL) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    x->buf->last_buf = (r == r->main) ? 1 : 0;
    x->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, x->first);
}


/*
 * Decodes one UTF-8 sequence strictly (no overlong forms, no surrogates,
 * nothing above U+10FFFF); returns its length, or 0 if it is invalid.
 */

static size_t
ngx_http_blob_xml_utf8(u_char *p, size_t n, uint32_t *u)
{
    size_t    len, i;
    uint32_t  c, min;

    c = p[0];

    if (c < 0x80) {
        *u = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (n < len) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *u = c;

    return len;
}


/*
 * Escapes element text.  With dst NULL, returns the length src takes once
 * escaped; otherwise writes it and returns the same length.  Quotes stay
 * as they are, as in Azure's documents ("<Etag>"0x8D..."</Etag>"), so this
 * is not for attribute values.  CR is written as a character reference,
 * or a parser would turn it into LF.
 */

size_t
ngx_http_blob_xml_escape(u_char *dst, u_char *src, size_t len)
{
    size_t     n, i, out;
    uint32_t   u;
    u_char    *s;

    static u_char  replacement[] = "\xef\xbf\xbd";

    out = 0;

    for (i = 0; i < len; i += n) {

        n = ngx_http_blob_xml_utf8(src + i, len - i, &u);

        if (n == 0) {
            /* one byte of broken UTF-8 */
            n = 1;
            u = 0xfffd;
            s = replacement;

        } else {
            s = NULL;
        }

        switch (u) {

        case '&':
            s = (u_char *) "&amp;";
            break;

        case '<':
            s = (u_char *) "&lt;";
            break;

        case '>':
            s = (u_char *) "&gt;";
            break;

        case '\r':
            s = (u_char *) "&#13;";
            break;

        case '\t':
        case '\n':
            break;

        case 0xfffe:
        case 0xffff:
            s = replacement;
            break;

        default:
            if (u < 0x20) {
                s = replacement;
            }
        }

        if (s == NULL) {
            if (dst) {
                dst = ngx_cpymem(dst, src + i, n);
            }

            out += n;
            continue;
        }

        if (dst) {
            dst = ngx_cpymem(dst, s, ngx_strlen(s));
        }

        out += ngx_strlen(s);
    }

    return out;
}


/*
 * The ServiceEndpoint attribute of enumeration results:
 * "https://account.blob.core.windows.net/", or with the account in the
 * path for path-style requests.
 */

ngx_int_t
ngx_http_blob_xml_endpoint(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_str_t *out)
{
    u_char     *p;
    ngx_str_t   host, scheme;

    ngx_str_set(&scheme, "http");

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&scheme, "https");
    }
#endif

    /* it goes into an attribute: a Host with a quote is not used */

    if (r->headers_in.host
        && ngx_strlchr(r->headers_in.host->value.data,
                       r->headers_in.host->value.data
                       + r->headers_in.host->value.len, '"')
           == NULL)
    {
        host = r->headers_in.host->value;

    } else {
        host = r->headers_in.server;
    }

    out->len = scheme.len + sizeof("://") - 1 + host.len + 1
               + ctx->account->name.len + 1;

    out->data = ngx_pnalloc(r->pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(out->data, "%V://%V/", &scheme, &host);

    if (!ctx->host_style) {
        p = ngx_sprintf(p, "%V/", &ctx->account->name);
    }

    out->len = p - out->data;

    return NGX_OK;
}

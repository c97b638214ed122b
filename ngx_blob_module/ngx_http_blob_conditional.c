
/*
 * ngx_blob_module: conditional headers.
 *
 * Evaluated in RFC 7232's order (If-Match, If-Unmodified-Since,
 * If-None-Match, If-Modified-Since) with Azure's answers: a failed read
 * condition is 304 for If-None-Match/If-Modified-Since and 412 otherwise;
 * a write with "If-None-Match: *" on an existing blob is 409
 * BlobAlreadyExists.  The function only reads request headers, so it is
 * also safe in a thread task, right before the change it guards.
 */


#include "ngx_http_blob_module.h"


static ngx_uint_t ngx_http_blob_etag_listed(ngx_str_t *list, uint64_t etag,
    ngx_uint_t *star);


ngx_http_blob_error_e
ngx_http_blob_conditions(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_uint_t exists, uint64_t etag, time_t last_modified,
    ngx_uint_t is_read)
{
    time_t      t;
    ngx_str_t   v;
    ngx_uint_t  star;

    if (ngx_http_blob_header_in_value(r, "if-match", &v) == NGX_OK) {

        if (!exists || !ngx_http_blob_etag_listed(&v, etag, &star)) {
            return NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET;
        }
    }

    if (ngx_http_blob_header_in_value(r, "if-unmodified-since", &v)
        == NGX_OK)
    {
        t = ngx_http_blob_parse_time(&v);

        if (t != NGX_ERROR && exists && last_modified > t) {
            return NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET;
        }
    }

    if (ngx_http_blob_header_in_value(r, "if-none-match", &v) == NGX_OK) {

        if (exists && ngx_http_blob_etag_listed(&v, etag, &star)) {

            if (is_read) {
                return NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET_304;
            }

            return star ? NGX_HTTP_BLOB_ERR_BLOB_ALREADY_EXISTS
                        : NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET;
        }

        /* If-Modified-Since is ignored when If-None-Match is present */
        return NGX_HTTP_BLOB_OK;
    }

    if (ngx_http_blob_header_in_value(r, "if-modified-since", &v) == NGX_OK) {
        t = ngx_http_blob_parse_time(&v);

        if (t != NGX_ERROR && exists && last_modified <= t) {
            return is_read ? NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET_304
                           : NGX_HTTP_BLOB_ERR_CONDITION_NOT_MET;
        }
    }

    return NGX_HTTP_BLOB_OK;
}


/* "*" or a comma-separated list of quoted (or bare) ETags */

static ngx_uint_t
ngx_http_blob_etag_listed(ngx_str_t *list, uint64_t etag, ngx_uint_t *star)
{
    u_char  *p, *last, *start, buf[sizeof("0x") + 16];
    size_t   len;

    *star = 0;

    ngx_sprintf(buf, "0x%016XL", etag);

    p = list->data;
    last = p + list->len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        if (p == last) {
            break;
        }

        if (*p == '*') {
            *star = 1;
            return 1;
        }

        if (last - p > 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
        }

        if (*p == '"') {
            start = ++p;

            while (p < last && *p != '"') {
                p++;
            }

            len = p - start;

            if (p < last) {
                p++;
            }

        } else {
            start = p;

            while (p < last && *p != ',' && *p != ' ') {
                p++;
            }

            len = p - start;
        }

        if (len == sizeof("0x") - 1 + 16
            && ngx_strncasecmp(start, buf, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * ngx_blob_module: Range and x-ms-range.
 *
 * One range of the forms "bytes=a-b", "bytes=a-" and "bytes=-n".  Azure
 * serves a single range; a list of ranges or any other unit is not a range
 * it honours.
 */


#include "ngx_http_blob_module.h"


static ngx_int_t ngx_http_blob_range_number(u_char **pp, u_char *last,
    off_t *n);


/*
 * NGX_OK: a range; NGX_DECLINED: not one Azure honours (serve the whole
 * blob); NGX_ERROR: malformed.
 */

ngx_int_t
ngx_http_blob_range_parse(ngx_str_t *value, ngx_http_blob_range_t *range)
{
    u_char  *p, *last;

    ngx_memzero(range, sizeof(ngx_http_blob_range_t));

    p = value->data;
    last = p + value->len;

    while (p < last && *p == ' ') {
        p++;
    }

    if (last - p < 6 || ngx_strncasecmp(p, (u_char *) "bytes=", 6) != 0) {
        return NGX_ERROR;
    }

    p += 6;

    while (p < last && *p == ' ') {
        p++;
    }

    if (ngx_strlchr(p, last, ',') != NULL) {
        return NGX_DECLINED;
    }

    if (p < last && *p == '-') {
        p++;

        if (ngx_http_blob_range_number(&p, last, &range->end) != NGX_OK) {
            return NGX_ERROR;
        }

        range->suffix = 1;

    } else {
        if (ngx_http_blob_range_number(&p, last, &range->start) != NGX_OK) {
            return NGX_ERROR;
        }

        while (p < last && *p == ' ') {
            p++;
        }

        if (p == last || *p++ != '-') {
            return NGX_ERROR;
        }

        while (p < last && *p == ' ') {
            p++;
        }

        if (p == last) {
            range->open_end = 1;

        } else if (ngx_http_blob_range_number(&p, last, &range->end)
                   != NGX_OK
                   || range->end < range->start)
        {
            return NGX_ERROR;
        }
    }

    while (p < last && *p == ' ') {
        p++;
    }

    if (p != last) {
        return NGX_ERROR;
    }

    range->present = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_range_number(u_char **pp, u_char *last, off_t *n)
{
    u_char  *p;
    off_t    v;

    p = *pp;
    v = 0;

    if (p == last || *p < '0' || *p > '9') {
        return NGX_ERROR;
    }

    while (p < last && *p >= '0' && *p <= '9') {

        if (v > (NGX_MAX_OFF_T_VALUE - (*p - '0')) / 10) {
            return NGX_ERROR;
        }

        v = v * 10 + (*p++ - '0');
    }

    *pp = p;
    *n = v;

    return NGX_OK;
}

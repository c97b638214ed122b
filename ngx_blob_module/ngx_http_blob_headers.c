
/*
 * ngx_blob_module: request and response headers.
 *
 * Azure's headers are read by name from the request's header list (nginx
 * parses only the standard ones), and written in one place so that every
 * response carries x-ms-request-id, x-ms-version and Date.
 */


#include "ngx_http_blob_module.h"


#define NGX_HTTP_BLOB_METADATA_MAX  8192


ngx_table_elt_t *
ngx_http_blob_header_in(ngx_http_request_t *r, char *lowcase_name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(lowcase_name);

    part = &r->headers_in.headers.part;
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

        if (h[i].key.len == len
            && ngx_strncmp(h[i].lowcase_key, lowcase_name, len) == 0)
        {
            return &h[i];
        }
    }

    return NULL;
}


/*
 * rclone and some SDKs send empty x-ms-blob-* headers for "not set":
 * an empty value is reported as absent.
 */

ngx_int_t
ngx_http_blob_header_in_value(ngx_http_request_t *r, char *lowcase_name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_http_blob_header_in(r, lowcase_name);

    if (h == NULL || h->value.len == 0) {
        ngx_str_null(value);
        return NGX_DECLINED;
    }

    *value = h->value;

    return NGX_OK;
}


ngx_int_t
ngx_http_blob_header_out(ngx_http_request_t *r, char *name, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return NGX_OK;
}


ngx_int_t
ngx_http_blob_header_out_cstr(ngx_http_request_t *r, char *name, char *value)
{
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_http_blob_header_out(r, name, &v);
}


ngx_int_t
ngx_http_blob_header_out_time(ngx_http_request_t *r, char *name, time_t t)
{
    ngx_str_t  v;

    v.data = ngx_pnalloc(r->pool, sizeof("Mon, 28 Sep 1970 06:00:00 GMT"));
    if (v.data == NULL) {
        return NGX_ERROR;
    }

    v.len = ngx_http_time(v.data, t) - v.data;

    return ngx_http_blob_header_out(r, name, &v);
}


/* echoed only as Azure bounds it: at most 1024 visible ASCII characters */

static ngx_uint_t
ngx_http_blob_client_request_id_valid(ngx_str_t *id)
{
    ngx_uint_t  i;

    if (id->len > 1024) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        if (id->data[i] < 0x20 || id->data[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


ngx_int_t
ngx_http_blob_common_headers(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    ngx_str_t  id;

    if (ngx_http_blob_header_out(r, "x-ms-request-id", &ctx->request_id)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_blob_header_out(r, "x-ms-version", &ctx->version)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* clients correlate their logs with ours by their own id */

    if (ngx_http_blob_header_in_value(r, "x-ms-client-request-id", &id)
        == NGX_OK
        && ngx_http_blob_client_request_id_valid(&id)
        && ngx_http_blob_header_out(r, "x-ms-client-request-id", &id)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* nginx's header filter adds Date; Server stays nginx's business */

    return NGX_OK;
}


/* Azure's ETags look like "0x8DBF1B2A3C4D5E6": a 64-bit version in hex */

ngx_int_t
ngx_http_blob_etag_format(ngx_pool_t *pool, uint64_t etag, ngx_uint_t quoted,
    ngx_str_t *out)
{
    u_char  *p;

    p = ngx_pnalloc(pool, sizeof("\"0x\"") - 1 + NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    if (quoted) {
        out->len = ngx_sprintf(p, "\"0x%016XL\"", etag) - p;

    } else {
        out->len = ngx_sprintf(p, "0x%016XL", etag) - p;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_header_out_nonempty(ngx_http_request_t *r, char *name,
    ngx_str_t *value)
{
    if (value->len == 0) {
        return NGX_OK;
    }

    return ngx_http_blob_header_out(r, name, value);
}


ngx_int_t
ngx_http_blob_props_headers(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_props_t *props)
{
    u_char           *p;
    ngx_str_t         etag, md5, v;
    ngx_uint_t        i;
    ngx_table_elt_t  *o;

    /* the module answers conditions itself, with Azure's error codes */
    r->disable_not_modified = 1;

    if (ngx_http_blob_etag_format(r->pool, props->etag, 1, &etag) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_blob_header_out(r, "ETag", &etag) != NGX_OK
        || ngx_http_blob_header_out_time(r, "Last-Modified", props->mtime)
           != NGX_OK
        || ngx_http_blob_header_out_time(r, "x-ms-creation-time",
                                         props->creation_time)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (props->content_type.len) {
        r->headers_out.content_type = props->content_type;

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/octet-stream");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_blob_header_out_nonempty(r, "Content-Encoding",
                                          &props->content_encoding)
           != NGX_OK
        || ngx_http_blob_header_out_nonempty(r, "Content-Language",
                                             &props->content_language)
           != NGX_OK
        || ngx_http_blob_header_out_nonempty(r, "Content-Disposition",
                                             &props->content_disposition)
           != NGX_OK
        || ngx_http_blob_header_out_nonempty(r, "Cache-Control",
                                             &props->cache_control)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (props->has_md5) {
        p = ngx_pnalloc(r->pool, ngx_base64_encoded_length(16));
        if (p == NULL) {
            return NGX_ERROR;
        }

        md5.data = p;
        v.data = props->content_md5;
        v.len = 16;
        ngx_encode_base64(&md5, &v);

        if (ngx_http_blob_header_out(r, "Content-MD5", &md5) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_blob_header_out_cstr(r, "Accept-Ranges", "bytes") != NGX_OK
        || ngx_http_blob_header_out_cstr(r, "x-ms-blob-type", "BlockBlob")
           != NGX_OK
        || ngx_http_blob_header_out_cstr(r, "x-ms-lease-status", "unlocked")
           != NGX_OK
        || ngx_http_blob_header_out_cstr(r, "x-ms-lease-state", "available")
           != NGX_OK
        || ngx_http_blob_header_out_cstr(r, "x-ms-server-encrypted", "true")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_blob_metadata_headers(r, &props->metadata) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a SAS may ask for other response headers (rscc, rsct, ...) */

    if (ctx->sas_overrides) {
        o = ctx->sas_overrides->elts;

        for (i = 0; i < ctx->sas_overrides->nelts; i++) {
            if (o[i].key.len == sizeof("Content-Type") - 1
                && ngx_strncasecmp(o[i].key.data, (u_char *) "Content-Type",
                                   o[i].key.len) == 0)
            {
                r->headers_out.content_type = o[i].value;
                r->headers_out.content_type_len = o[i].value.len;
                continue;
            }

            if (ngx_http_blob_header_out(r, (char *) o[i].key.data,
                                         &o[i].value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return ngx_http_blob_common_headers(r, ctx);
}


ngx_int_t
ngx_http_blob_metadata_headers(ngx_http_request_t *r, ngx_array_t *metadata)
{
    u_char        *p;
    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    if (metadata->nelts == 0) {
        return NGX_OK;
    }

    kv = metadata->elts;

    for (i = 0; i < metadata->nelts; i++) {
        p = ngx_pnalloc(r->pool, sizeof("x-ms-meta-") + kv[i].key.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        *ngx_sprintf(p, "x-ms-meta-%V", &kv[i].key) = '\0';

        if (ngx_http_blob_header_out(r, (char *) p, &kv[i].value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * x-ms-meta-<name>: names are C# identifiers, case-insensitively unique;
 * the total of names and values is at most 8 KiB.  Values are stored as
 * sent (nginx has already rejected CR/LF in header values, so nothing can
 * be injected into a response header later).
 */

ngx_int_t
ngx_http_blob_metadata_parse(ngx_http_request_t *r, ngx_array_t *metadata,
    ngx_http_blob_error_detail_t *detail)
{
    size_t            total;
    u_char           *name, c;
    ngx_uint_t        i, j, k, len;
    ngx_keyval_t     *kv, *all;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (ngx_array_init(metadata, r->pool, 4, sizeof(ngx_keyval_t)) != NGX_OK) {
        return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    total = 0;

    part = &r->headers_in.headers.part;
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

        if (h[i].key.len < sizeof("x-ms-meta-") - 1
            || ngx_strncmp(h[i].lowcase_key, "x-ms-meta-",
                           sizeof("x-ms-meta-") - 1) != 0)
        {
            continue;
        }

        name = h[i].key.data + sizeof("x-ms-meta-") - 1;
        len = h[i].key.len - (sizeof("x-ms-meta-") - 1);

        if (len == 0) {
            detail->header_name = h[i].key;
            return NGX_HTTP_BLOB_ERR_EMPTY_METADATA_KEY;
        }

        for (j = 0; j < len; j++) {
            c = name[j];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || c == '_' || (j > 0 && c >= '0' && c <= '9')))
            {
                detail->header_name = h[i].key;
                return NGX_HTTP_BLOB_ERR_INVALID_METADATA;
            }
        }

        for (j = 0; j < h[i].value.len; j++) {
            if (h[i].value.data[j] < 0x20 || h[i].value.data[j] > 0x7e) {
                detail->header_name = h[i].key;
                return NGX_HTTP_BLOB_ERR_INVALID_METADATA;
            }
        }

        all = metadata->elts;

        for (k = 0; k < metadata->nelts; k++) {
            if (all[k].key.len == len
                && ngx_strncasecmp(all[k].key.data, name, len) == 0)
            {
                detail->header_name = h[i].key;
                return NGX_HTTP_BLOB_ERR_INVALID_METADATA;
            }
        }

        total += len + h[i].value.len;

        if (total > NGX_HTTP_BLOB_METADATA_MAX) {
            return NGX_HTTP_BLOB_ERR_METADATA_TOO_LARGE;
        }

        kv = ngx_array_push(metadata);
        if (kv == NULL) {
            return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }

        kv->key.data = name;
        kv->key.len = len;
        kv->value = h[i].value;
    }

    return NGX_HTTP_BLOB_OK;
}


/*
 * The content properties are stored in JSON, which holds UTF-8 only (a
 * Latin-1 byte would make the property vanish after a 201), and are sent
 * back as response headers, where a control character makes strict HTTP
 * parsers (Node's) refuse the whole response: both are refused up front.
 */

ngx_http_blob_error_e
ngx_http_blob_content_headers_check(ngx_http_blob_props_t *props,
    ngx_http_blob_error_detail_t *detail)
{
    u_char      *p, *last;
    uint32_t     c;
    ngx_uint_t   i;
    ngx_str_t   *v;

    static struct {
        size_t   offset;
        char    *name;
    }  fields[] = {
        { offsetof(ngx_http_blob_props_t, content_type),
          "x-ms-blob-content-type" },
        { offsetof(ngx_http_blob_props_t, content_encoding),
          "x-ms-blob-content-encoding" },
        { offsetof(ngx_http_blob_props_t, content_language),
          "x-ms-blob-content-language" },
        { offsetof(ngx_http_blob_props_t, content_disposition),
          "x-ms-blob-content-disposition" },
        { offsetof(ngx_http_blob_props_t, cache_control),
          "x-ms-blob-cache-control" }
    };

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        v = (ngx_str_t *) ((u_char *) props + fields[i].offset);

        p = v->data;
        last = p + v->len;

        while (p < last) {

            if (*p < 0x80) {
                c = *p++;

            } else {
                c = ngx_utf8_decode(&p, last - p);

                /* jansson refuses surrogates too */
                if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
                    goto invalid;
                }
            }

            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                goto invalid;
            }
        }

        continue;

    invalid:

        detail->header_name.data = (u_char *) fields[i].name;
        detail->header_name.len = ngx_strlen(fields[i].name);
        detail->header_value = *v;

        return NGX_HTTP_BLOB_ERR_INVALID_HEADER_VALUE;
    }

    return NGX_HTTP_BLOB_OK;
}


time_t
ngx_http_blob_parse_time(ngx_str_t *value)
{
    return ngx_parse_http_time(value->data, value->len);
}

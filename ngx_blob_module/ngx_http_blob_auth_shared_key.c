
/*
 * ngx_blob_module: Shared Key and Shared Key Lite authorization.
 *
 * The client signs a canonical form of the request with HMAC-SHA256 and
 * one of the account keys; we rebuild that form from what arrived and
 * compare.  Several forms are tried because real clients disagree with
 * the documentation in two places:
 *
 *   - path-style emulator URLs: the SDKs sign "/account" followed by the
 *     path as sent, which already starts with the account, so the account
 *     appears twice; Azure's own IP-style endpoints use the path alone;
 *
 *   - x-ms-* header values: the documentation folds runs of whitespace to
 *     one space, the SDKs sign the value as sent.
 *
 * Each form is tried with each key of the account, so keys can be rotated
 * without downtime.  Every form is a correct signature of this very request
 * under some client's reading of the rules; none weakens the check.
 */


#include "ngx_http_blob_module.h"


typedef struct {
    ngx_str_t                    name;          /* lowercase */
    ngx_str_t                    value;
} ngx_http_blob_sk_pair_t;


static ngx_int_t ngx_http_blob_sk_check_date(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_error_detail_t *detail);
static ngx_int_t ngx_http_blob_sk_prefix(ngx_http_request_t *r,
    ngx_uint_t lite, ngx_str_t *out);
static ngx_int_t ngx_http_blob_sk_headers(ngx_http_request_t *r,
    ngx_str_t *folded, ngx_str_t *raw);
static ngx_int_t ngx_http_blob_sk_query(ngx_http_request_t *r,
    ngx_uint_t lite, ngx_str_t *out);
static ngx_int_t ngx_http_blob_sk_sort(ngx_pool_t *pool, void **elts,
    ngx_uint_t n, ngx_int_t (*cmp)(const void *one, const void *two));
static ngx_int_t ngx_http_blob_sk_header_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_blob_sk_pair_cmp(const void *one, const void *two);
static ngx_uint_t ngx_http_blob_sk_weight(u_char c);
static size_t ngx_http_blob_sk_fold(u_char *dst, ngx_str_t *value);


ngx_int_t
ngx_http_blob_auth_shared_key(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_str_t *credentials,
    ngx_http_blob_error_detail_t *detail)
{
    u_char                   *p, *last, *colon;
    u_char                    digest[EVP_MAX_MD_SIZE];
    size_t                    len;
    ngx_str_t                 claimed, sig, given, computed, prefix;
    ngx_str_t                 folded, raw, query, sts, first;
    ngx_str_t                 resource[2], headers[2];
    ngx_int_t                 rc;
    ngx_uint_t                lite, nres, nhdr, i, j, k;
    ngx_http_blob_account_t  *account;

    account = ctx->account;

    /* "SharedKey account:signature" or "SharedKeyLite account:signature" */

    p = credentials->data;
    last = p + credentials->len;

    lite = (credentials->len > sizeof("SharedKeyLite") - 1
            && ngx_strncasecmp(p, (u_char *) "SharedKeyLite",
                               sizeof("SharedKeyLite") - 1) == 0);

    while (p < last && *p != ' ') {
        p++;
    }

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    colon = ngx_strlchr(p, last, ':');

    if (colon == NULL || colon == p || colon + 1 == last) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "The Authorization header is not in the format "
                   "\"SharedKey account:signature\".");
    }

    claimed.data = p;
    claimed.len = colon - p;

    sig.data = colon + 1;
    sig.len = last - sig.data;

    if (claimed.len != account->name.len
        || ngx_strncmp(claimed.data, account->name.data, claimed.len) != 0)
    {
        claimed.len = ngx_min(claimed.len, 64);

        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, claimed.len,
                   "Cannot find the claimed account when trying to "
                   "GetProperties for the account %V.", &claimed);
    }

    if (account->nkeys == 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "blob: account \"%V\" has no key in blob_keys_file",
                      &account->name);

        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "The account has no key to verify Shared Key "
                   "requests with.");
    }

    rc = ngx_http_blob_sk_check_date(r, ctx, detail);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the signature as sent, decoded; a bad encoding just never matches */

    given.len = 0;
    given.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(sig.len));
    if (given.data == NULL) {
        goto failed;
    }

    if (ngx_decode_base64(&given, &sig) != NGX_OK) {
        given.len = 0;
    }

    if (ngx_http_blob_sk_prefix(r, lite, &prefix) != NGX_OK
        || ngx_http_blob_sk_headers(r, &folded, &raw) != NGX_OK)
    {
        goto failed;
    }

    rc = ngx_http_blob_sk_query(r, lite, &query);

    if (rc == NGX_DECLINED) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "The request URI has a malformed query string.");
    }

    if (rc != NGX_OK) {
        goto failed;
    }

    /* the canonicalized resource forms (see the comment on top) */

    len = 1 + account->name.len + ctx->canonical_uri.len;

    resource[0].data = ngx_pnalloc(r->pool, len);
    if (resource[0].data == NULL) {
        goto failed;
    }

    resource[0].len = ngx_sprintf(resource[0].data, "/%V%V", &account->name,
                                  &ctx->canonical_uri)
                      - resource[0].data;
    nres = 1;

    if (!ctx->host_style
        && ctx->canonical_uri.len > account->name.len
        && ctx->canonical_uri.data[0] == '/'
        && ngx_strncmp(ctx->canonical_uri.data + 1, account->name.data,
                       account->name.len) == 0)
    {
        resource[nres++] = ctx->canonical_uri;
    }

    headers[0] = folded;
    nhdr = 1;

    if (raw.len != folded.len
        || ngx_strncmp(raw.data, folded.data, raw.len) != 0)
    {
        headers[nhdr++] = raw;
    }

    len = prefix.len + ngx_max(folded.len, raw.len) + resource[0].len
          + query.len;

    sts.data = ngx_pnalloc(r->pool, len);
    first.data = ngx_pnalloc(r->pool, len);

    if (sts.data == NULL || first.data == NULL) {
        goto failed;
    }

    first.len = 0;
    computed.data = digest;

    for (i = 0; i < nres; i++) {
        for (j = 0; j < nhdr; j++) {

            p = ngx_cpymem(sts.data, prefix.data, prefix.len);

            if (headers[j].len) {
                p = ngx_cpymem(p, headers[j].data, headers[j].len);
            }

            p = ngx_cpymem(p, resource[i].data, resource[i].len);

            if (query.len) {
                p = ngx_cpymem(p, query.data, query.len);
            }

            sts.len = p - sts.data;

            if (first.len == 0) {
                first.len = sts.len;
                ngx_memcpy(first.data, sts.data, sts.len);
            }

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "blob shared key string to sign: \"%V\"", &sts);

            for (k = 0; k < account->nkeys; k++) {

                if (ngx_http_blob_hmac_sha256(account, k, &sts, &computed)
                    != NGX_OK)
                {
                    continue;
                }

                if (ngx_http_blob_signature_equal(&computed, &given)) {
                    ngx_explicit_memzero(digest, sizeof(digest));
                    ctx->authenticated = 1;
                    return NGX_OK;
                }
            }
        }
    }

    ngx_explicit_memzero(digest, sizeof(digest));

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "blob: %s signature mismatch for account \"%V\"",
                  lite ? "shared key lite" : "shared key", &account->name);

    return ngx_http_blob_auth_fail(r, ctx, detail,
               NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, first.len,
               "The MAC signature found in the HTTP request is not the same "
               "as any computed signature. Server used following string to "
               "sign: '%V'.", &first);

failed:

    ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    return NGX_ERROR;
}


/* 403 when x-ms-date (or Date) is missing, malformed or 15 minutes off */

static ngx_int_t
ngx_http_blob_sk_check_date(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_error_detail_t *detail)
{
    time_t     t, now;
    ngx_str_t  value;

    if (ngx_http_blob_header_in_value(r, "x-ms-date", &value) != NGX_OK
        && ngx_http_blob_header_in_value(r, "date", &value) != NGX_OK)
    {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "Request date header not specified.");
    }

    t = ngx_http_blob_parse_time(&value);

    /* quoted in the answer: a client's garbage is not echoed at length */
    value.len = ngx_min(value.len, 64);

    if (t == (time_t) NGX_ERROR || t <= 0) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, value.len,
                   "Request date header not valid: '%V'.", &value);
    }

    now = ngx_time();

    if (t < now - NGX_HTTP_BLOB_CLOCK_SKEW) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, value.len,
                   "Request date header too old: '%V'.", &value);
    }

    if (t > now + NGX_HTTP_BLOB_CLOCK_SKEW) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, value.len,
                   "Request date header too far in the future: '%V'.",
                   &value);
    }

    return NGX_OK;
}


/*
 * The verb and the standard headers, each followed by a newline.  Since
 * version 2015-02-21 a zero Content-Length is signed as an empty string.
 */

static ngx_int_t
ngx_http_blob_sk_prefix(ngx_http_request_t *r, ngx_uint_t lite,
    ngx_str_t *out)
{
    u_char      *p;
    size_t       len;
    ngx_str_t    version;
    ngx_uint_t   i, n;

    static char  *shared_key[] = {
        "content-encoding", "content-language", "content-length",
        "content-md5", "content-type", "date", "if-modified-since",
        "if-match", "if-none-match", "if-unmodified-since", "range"
    };

    static char  *shared_key_lite[] = {
        "content-md5", "content-type", "date"
    };

    ngx_str_t     values[sizeof(shared_key) / sizeof(char *)];
    char        **names;

    names = lite ? shared_key_lite : shared_key;
    n = lite ? sizeof(shared_key_lite) / sizeof(char *)
             : sizeof(shared_key) / sizeof(char *);

    len = r->method_name.len + 1;

    for (i = 0; i < n; i++) {
        if (ngx_http_blob_header_in_value(r, names[i], &values[i])
            != NGX_OK)
        {
            ngx_str_null(&values[i]);
        }

        if (!lite
            && i == 2
            && values[i].len == 1 && values[i].data[0] == '0'
            && (ngx_http_blob_header_in_value(r, "x-ms-version", &version)
                != NGX_OK
                || version.len != sizeof("2015-02-21") - 1
                || ngx_strncmp(version.data, "2015-02-21", version.len) >= 0))
        {
            ngx_str_null(&values[i]);
        }

        len += values[i].len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    p = ngx_cpymem(p, r->method_name.data, r->method_name.len);
    *p++ = '\n';

    for (i = 0; i < n; i++) {
        if (values[i].len) {
            p = ngx_cpymem(p, values[i].data, values[i].len);
        }

        *p++ = '\n';
    }

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * The x-ms-* headers: lowercase names, sorted the way the service sorts
 * them (the SDKs emulate it with the same weight table), one line each;
 * a header that arrived twice is signed once with its values joined by
 * commas.  "folded" has whitespace runs folded, "raw" has the values as
 * they arrived.
 */

static ngx_int_t
ngx_http_blob_sk_headers(ngx_http_request_t *r, ngx_str_t *folded,
    ngx_str_t *raw)
{
    u_char            *f, *w;
    size_t             len;
    ngx_uint_t         i, n;
    ngx_array_t        list;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h, **hp;

    if (ngx_array_init(&list, r->pool, 8, sizeof(ngx_table_elt_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = 0;
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

        if (h[i].hash == 0
            || h[i].key.len <= sizeof("x-ms-") - 1
            || h[i].lowcase_key == NULL
            || ngx_strncmp(h[i].lowcase_key, "x-ms-", sizeof("x-ms-") - 1)
               != 0)
        {
            continue;
        }

        hp = ngx_array_push(&list);
        if (hp == NULL) {
            return NGX_ERROR;
        }

        *hp = &h[i];
        len += h[i].key.len + h[i].value.len + 2;
    }

    folded->data = ngx_pnalloc(r->pool, len + 1);
    raw->data = ngx_pnalloc(r->pool, len + 1);

    if (folded->data == NULL || raw->data == NULL) {
        return NGX_ERROR;
    }

    hp = list.elts;
    n = list.nelts;

    if (ngx_http_blob_sk_sort(r->pool, (void **) hp, n,
                              ngx_http_blob_sk_header_cmp)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    f = folded->data;
    w = raw->data;

    for (i = 0; i < n; i++) {

        if (i > 0
            && hp[i]->key.len == hp[i - 1]->key.len
            && ngx_strncmp(hp[i]->lowcase_key, hp[i - 1]->lowcase_key,
                           hp[i]->key.len) == 0)
        {
            /* the same header again: replace the newline with a comma */
            f[-1] = ',';
            w[-1] = ',';

        } else {
            f = ngx_cpymem(f, hp[i]->lowcase_key, hp[i]->key.len);
            *f++ = ':';
            w = ngx_cpymem(w, hp[i]->lowcase_key, hp[i]->key.len);
            *w++ = ':';
        }

        f += ngx_http_blob_sk_fold(f, &hp[i]->value);
        *f++ = '\n';

        if (hp[i]->value.len) {
            w = ngx_cpymem(w, hp[i]->value.data, hp[i]->value.len);
        }
        *w++ = '\n';
    }

    folded->len = f - folded->data;
    raw->len = w - raw->data;

    return NGX_OK;
}


/*
 * Shared Key: every query parameter, name lowercased and decoded, sorted,
 * "\nname:value1,value2" with the values of a repeated name sorted.
 * Shared Key Lite: "?comp=value" when comp is present, nothing else.
 * NGX_DECLINED for a query that does not decode.
 */

static ngx_int_t
ngx_http_blob_sk_query(ngx_http_request_t *r, ngx_uint_t lite,
    ngx_str_t *out)
{
    u_char                   *p, *q, *end, *eq, *o;
    size_t                    len;
    ngx_str_t                 name, value, decoded;
    ngx_uint_t                i;
    ngx_array_t               pairs;
    ngx_http_blob_sk_pair_t  *pair, **pp;

    ngx_str_null(out);

    if (lite) {
        if (ngx_http_blob_arg(r, "comp", &value) != NGX_OK) {
            return NGX_OK;
        }

        out->data = ngx_pnalloc(r->pool, sizeof("?comp=") - 1 + value.len);
        if (out->data == NULL) {
            return NGX_ERROR;
        }

        out->len = ngx_sprintf(out->data, "?comp=%V", &value) - out->data;

        return NGX_OK;
    }

    if (r->args.len == 0) {
        return NGX_OK;
    }

    if (ngx_array_init(&pairs, r->pool, 8, sizeof(ngx_http_blob_sk_pair_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = r->args.data;
    end = p + r->args.len;
    len = 0;

    while (p < end) {

        q = ngx_strlchr(p, end, '&');
        if (q == NULL) {
            q = end;
        }

        if (q == p) {
            p++;
            continue;
        }

        eq = ngx_strlchr(p, q, '=');

        name.data = p;
        name.len = (eq ? eq : q) - p;

        if (eq) {
            value.data = eq + 1;
            value.len = q - value.data;

        } else {
            ngx_str_null(&value);
        }

        pp = ngx_array_push(&pairs);
        pair = ngx_palloc(r->pool, sizeof(ngx_http_blob_sk_pair_t));

        if (pp == NULL || pair == NULL) {
            return NGX_ERROR;
        }

        *pp = pair;

        if (ngx_http_blob_unescape(r->pool, &name, &decoded, 0) != NGX_OK
            || ngx_http_blob_unescape(r->pool, &value, &pair->value, 0)
               != NGX_OK)
        {
            return NGX_DECLINED;
        }

        /* a copy: the decoder may hand back the bytes of r->args */

        pair->name.len = decoded.len;
        pair->name.data = ngx_pnalloc(r->pool, decoded.len);
        if (pair->name.data == NULL) {
            return NGX_ERROR;
        }

        ngx_strlow(pair->name.data, decoded.data, decoded.len);

        len += pair->name.len + pair->value.len + 2;

        p = q + 1;
    }

    pp = pairs.elts;

    if (ngx_http_blob_sk_sort(r->pool, (void **) pp, pairs.nelts,
                              ngx_http_blob_sk_pair_cmp)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(r->pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    o = out->data;

    for (i = 0; i < pairs.nelts; i++) {

        if (i > 0
            && pp[i]->name.len == pp[i - 1]->name.len
            && ngx_strncmp(pp[i]->name.data, pp[i - 1]->name.data,
                           pp[i]->name.len) == 0)
        {
            *o++ = ',';

        } else {
            *o++ = '\n';
            o = ngx_cpymem(o, pp[i]->name.data, pp[i]->name.len);
            *o++ = ':';
        }

        if (pp[i]->value.len) {
            o = ngx_cpymem(o, pp[i]->value.data, pp[i]->value.len);
        }
    }

    out->len = o - out->data;

    return NGX_OK;
}


/*
 * A stable merge sort of pointers: the lists come from the request, so
 * their length is the client's choice and must not cost quadratic time.
 */

static ngx_int_t
ngx_http_blob_sk_sort(ngx_pool_t *pool, void **elts, ngx_uint_t n,
    ngx_int_t (*cmp)(const void *one, const void *two))
{
    void        **src, **dst, **t;
    ngx_uint_t    width, lo, mid, hi, i, j, k;

    if (n < 2) {
        return NGX_OK;
    }

    t = ngx_palloc(pool, n * sizeof(void *));
    if (t == NULL) {
        return NGX_ERROR;
    }

    src = elts;
    dst = t;

    for (width = 1; width < n; width *= 2) {

        for (lo = 0; lo < n; lo += 2 * width) {
            mid = ngx_min(lo + width, n);
            hi = ngx_min(lo + 2 * width, n);

            i = lo;
            j = mid;

            for (k = lo; k < hi; k++) {
                if (i < mid && (j >= hi || cmp(src[i], src[j]) <= 0)) {
                    dst[k] = src[i++];

                } else {
                    dst[k] = src[j++];
                }
            }
        }

        t = src;
        src = dst;
        dst = t;
    }

    if (src != elts) {
        ngx_memcpy(elts, src, n * sizeof(void *));
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_sk_header_cmp(const void *one, const void *two)
{
    const ngx_table_elt_t  *a = one;
    const ngx_table_elt_t  *b = two;

    size_t      i, n;
    ngx_uint_t  wa, wb;

    n = ngx_min(a->key.len, b->key.len);

    for (i = 0; i < n; i++) {
        wa = ngx_http_blob_sk_weight(a->lowcase_key[i]);
        wb = ngx_http_blob_sk_weight(b->lowcase_key[i]);

        if (wa != wb) {
            return wa < wb ? -1 : 1;
        }
    }

    if (a->key.len == b->key.len) {
        return 0;
    }

    return a->key.len < b->key.len ? -1 : 1;
}


static ngx_int_t
ngx_http_blob_sk_pair_cmp(const void *one, const void *two)
{
    const ngx_http_blob_sk_pair_t  *a = one;
    const ngx_http_blob_sk_pair_t  *b = two;

    ngx_int_t  rc;

    rc = ngx_memn2cmp(a->name.data, b->name.data, a->name.len, b->name.len);

    if (rc != 0) {
        return rc;
    }

    return ngx_memn2cmp(a->value.data, b->value.data, a->value.len,
                        b->value.len);
}


/*
 * The service orders header names by this table, not by byte value: '-'
 * sorts before the digits and letters, '_' before the digits.  For the
 * usual [a-z0-9-] names it is plain byte order.
 */

static ngx_uint_t
ngx_http_blob_sk_weight(u_char c)
{
    u_char  *p;

    static u_char  order[] =
        "-!#$%&*.^_|~+\"'(),/`~0123456789:;<=>?@"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijklmnopqrstuvwxyz{}";

    if (c != '\0') {
        p = (u_char *) ngx_strchr(order, c);

        if (p) {
            return p - order;
        }
    }

    return 256 + c;
}


/* trim, and fold each run of spaces, tabs, CR and LF into one space */

static size_t
ngx_http_blob_sk_fold(u_char *dst, ngx_str_t *value)
{
    u_char      *p, *last, *d;
    ngx_uint_t   space;

    p = value->data;
    last = p + value->len;

    while (p < last && (*p == ' ' || *p == '\t' || *p == CR || *p == LF)) {
        p++;
    }

    while (last > p
           && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == CR
               || last[-1] == LF))
    {
        last--;
    }

    d = dst;
    space = 0;

    for ( /* void */ ; p < last; p++) {

        if (*p == ' ' || *p == '\t' || *p == CR || *p == LF) {
            space = 1;
            continue;
        }

        if (space) {
            *d++ = ' ';
            space = 0;
        }

        *d++ = *p;
    }

    return d - dst;
}


/*
 * ngx_blob_module: shared access signatures.
 *
 * Account SAS (ss, srt) and service SAS (sr=c, b, bs, bv) signed with an
 * account key, from signed version 2015-04-05 on.  The string-to-sign
 * changed twice in that range, and a newer version than we know signs
 * like the newest layout we know:
 *
 *   account SAS   2015-04-05  account sp ss srt st se sip spr sv ""
 *                 2020-12-06  ... sv ses ""
 *
 *   service SAS   2015-04-05  sp st se resource si sip spr sv
 *                             rscc rscd rsce rscl rsct
 *                 2018-11-09  ... sv sr snapshot rscc ...
 *                 2020-12-06  ... sv sr snapshot ses rscc ...
 *
 * each field on its own line, with the values as they decode from the
 * query string.  The signature is checked before anything the token grants
 * is looked at, and every check denies unless the token grants.
 *
 * Stored access policies (si) live on the shared filesystem, which the
 * event loop must not read; user delegation SAS need Entra ID.  Both are
 * refused with 403 AuthenticationFailed.
 */


#include "ngx_http_blob_module.h"


typedef struct {
    ngx_str_t                    sv;
    ngx_str_t                    ss;
    ngx_str_t                    srt;
    ngx_str_t                    sp;
    ngx_str_t                    st;
    ngx_str_t                    se;
    ngx_str_t                    sip;
    ngx_str_t                    spr;
    ngx_str_t                    ses;
    ngx_str_t                    sr;
    ngx_str_t                    si;
    ngx_str_t                    snapshot;     /* signed snapshot time */
    ngx_str_t                    rscc;
    ngx_str_t                    rscd;
    ngx_str_t                    rsce;
    ngx_str_t                    rscl;
    ngx_str_t                    rsct;
    ngx_str_t                    sig;          /* decoded from base64 */

    time_t                       start;        /* 0: no st */
    time_t                       expiry;
    in_addr_t                    ip_from;      /* host order */
    in_addr_t                    ip_to;
    unsigned                     account:1;
    unsigned                     https_only:1;
} ngx_http_blob_sas_t;


static ngx_int_t ngx_http_blob_sas_read(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_sas_t *sas,
    ngx_http_blob_error_detail_t *detail);
static ngx_int_t ngx_http_blob_sas_string_to_sign(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_sas_t *sas, ngx_str_t *sts);
static ngx_int_t ngx_http_blob_sas_verify(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_sas_t *sas,
    ngx_http_blob_error_detail_t *detail);
static ngx_int_t ngx_http_blob_sas_grants(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_sas_t *sas,
    ngx_http_blob_error_detail_t *detail);
static ngx_int_t ngx_http_blob_sas_overrides(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_sas_t *sas);
static ngx_int_t ngx_http_blob_sas_client_ip(ngx_http_request_t *r,
    in_addr_t *addr);
static ngx_int_t ngx_http_blob_sas_parse_ip(ngx_str_t *value,
    in_addr_t *from, in_addr_t *to);
static time_t ngx_http_blob_sas_parse_time(ngx_str_t *value);
static ngx_int_t ngx_http_blob_sas_version_valid(ngx_str_t *sv);
static ngx_int_t ngx_http_blob_sas_version_cmp(ngx_str_t *sv, char *v);
static ngx_uint_t ngx_http_blob_sas_permissions(ngx_str_t *sp);


ngx_int_t
ngx_http_blob_auth_sas(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_error_detail_t *detail)
{
    ngx_int_t            rc;
    ngx_http_blob_sas_t  sas;

    ngx_memzero(&sas, sizeof(ngx_http_blob_sas_t));

    rc = ngx_http_blob_sas_read(r, ctx, &sas, detail);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_blob_sas_verify(r, ctx, &sas, detail);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_blob_sas_grants(r, ctx, &sas, detail);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!sas.account && ngx_http_blob_sas_overrides(r, ctx, &sas) != NGX_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ctx->authenticated = 1;
    ctx->sas = 1;

    return NGX_OK;
}


/* the token's fields, and everything about them that parses or not */

static ngx_int_t
ngx_http_blob_sas_read(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_sas_t *sas, ngx_http_blob_error_detail_t *detail)
{
    u_char      *p, *last, *end, *eq;
    ngx_str_t    name, value, raw, *field;
    ngx_uint_t   i, seen;

    static struct {
        ngx_str_t    name;
        size_t       offset;
        ngx_uint_t   delegation;    /* of a user delegation SAS */
    }  fields[] = {
        { ngx_string("sv"), offsetof(ngx_http_blob_sas_t, sv), 0 },
        { ngx_string("ss"), offsetof(ngx_http_blob_sas_t, ss), 0 },
        { ngx_string("srt"), offsetof(ngx_http_blob_sas_t, srt), 0 },
        { ngx_string("sp"), offsetof(ngx_http_blob_sas_t, sp), 0 },
        { ngx_string("st"), offsetof(ngx_http_blob_sas_t, st), 0 },
        { ngx_string("se"), offsetof(ngx_http_blob_sas_t, se), 0 },
        { ngx_string("sip"), offsetof(ngx_http_blob_sas_t, sip), 0 },
        { ngx_string("spr"), offsetof(ngx_http_blob_sas_t, spr), 0 },
        { ngx_string("ses"), offsetof(ngx_http_blob_sas_t, ses), 0 },
        { ngx_string("sr"), offsetof(ngx_http_blob_sas_t, sr), 0 },
        { ngx_string("si"), offsetof(ngx_http_blob_sas_t, si), 0 },
        { ngx_string("rscc"), offsetof(ngx_http_blob_sas_t, rscc), 0 },
        { ngx_string("rscd"), offsetof(ngx_http_blob_sas_t, rscd), 0 },
        { ngx_string("rsce"), offsetof(ngx_http_blob_sas_t, rsce), 0 },
        { ngx_string("rscl"), offsetof(ngx_http_blob_sas_t, rscl), 0 },
        { ngx_string("rsct"), offsetof(ngx_http_blob_sas_t, rsct), 0 },
        { ngx_string("skoid"), 0, 1 },
        { ngx_string("sktid"), 0, 1 },
        { ngx_string("skt"), 0, 1 },
        { ngx_string("ske"), 0, 1 },
        { ngx_string("sks"), 0, 1 },
        { ngx_string("skv"), 0, 1 },
        { ngx_null_string, 0, 0 }
    };

    /*
     * One pass over the query for every field (the first of a repeated
     * name counts, as ngx_http_blob_arg() has it): a SAS request is
     * often a small read, and 20 scans of its query string showed.
     */

    seen = 0;

    /* no query: args.data is NULL, no pointer arithmetic on it */

    p = r->args.data;
    last = r->args.len ? p + r->args.len : p;

    for ( /* void */ ; p < last; p = end + 1) {

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        eq = ngx_strlchr(p, end, '=');

        name.data = p;
        name.len = (eq ? eq : end) - p;

        value.data = eq ? eq + 1 : end;
        value.len = end - value.data;

        for (i = 0; fields[i].name.len; i++) {
            if (fields[i].name.len == name.len
                && ngx_strncmp(fields[i].name.data, name.data, name.len) == 0)
            {
                break;
            }
        }

        if (fields[i].name.len == 0 || (seen & (1 << i))) {
            continue;
        }

        seen |= 1 << i;

        if (fields[i].delegation) {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                       "User delegation SAS is not supported: sign the "
                       "SAS with an account key.");
        }

        field = (ngx_str_t *) ((u_char *) sas + fields[i].offset);

        /* in a query string "+" is a space, as Azure (and rclone) have it */

        if (ngx_http_blob_unescape(r->pool, &value, field, 1) != NGX_OK) {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED,
                       fields[i].name.len,
                       "The value of %V is not correctly percent-encoded.",
                       &fields[i].name);
        }
    }

    /*
     * The signature is decoded here and not by the argument helper: a '+'
     * left unescaped by a client is a base64 digit, never a space.
     */

    if (ngx_http_blob_arg(r, "sig", &raw) != NGX_OK
        || ngx_http_blob_unescape(r->pool, &raw, &value, 0) != NGX_OK
        || value.len == 0)
    {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "sig is mandatory. Cannot be empty");
    }

    sas->sig.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(value.len));
    if (sas->sig.data == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    if (ngx_decode_base64(&sas->sig, &value) != NGX_OK) {
        sas->sig.len = 0;    /* never matches */
    }

    if (sas->sv.len == 0) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "sv is mandatory. Cannot be empty");
    }

    if (ngx_http_blob_sas_version_valid(&sas->sv) != NGX_OK
        || ngx_http_blob_sas_version_cmp(&sas->sv, "2015-04-05") < 0)
    {
        value.data = sas->sv.data;
        value.len = ngx_min(sas->sv.len, 32);

        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, value.len,
                   "Signed version '%V' is not supported: use 2015-04-05 "
                   "or later.", &value);
    }

    if (sas->sr.len) {

        if (sas->si.len) {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                       "Stored access policies (si) are not supported by "
                       "this service: sign sp, st and se into the SAS "
                       "instead.");
        }

        if (!(sas->sr.len == 1 && (sas->sr.data[0] == 'c'
                                   || sas->sr.data[0] == 'b'))
            && !(sas->sr.len == 2 && sas->sr.data[0] == 'b'
                 && (sas->sr.data[1] == 's' || sas->sr.data[1] == 'v')))
        {
            value.data = sas->sr.data;
            value.len = ngx_min(sas->sr.len, 8);

            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, value.len,
                       "Signed resource '%V' is not supported.", &value);
        }

        /* the snapshot or version the token is bound to comes with the
         * request, not with the token */

        if (sas->sr.len == 2) {
            if (ngx_http_blob_arg_decoded(r, sas->sr.data[1] == 's'
                                             ? "snapshot" : "versionid",
                                          &sas->snapshot)
                != NGX_OK)
            {
                ngx_str_null(&sas->snapshot);
            }
        }

    } else if (sas->ss.len || sas->srt.len) {
        sas->account = 1;

        if (sas->ss.len == 0) {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                       "ss is mandatory. Cannot be empty");
        }

        if (sas->srt.len == 0) {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                       "srt is mandatory. Cannot be empty");
        }

    } else {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "The SAS is neither an account SAS (ss, srt) nor a "
                   "service SAS (sr).");
    }

    if (sas->sp.len == 0) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "sp is mandatory. Cannot be empty");
    }

    if (sas->se.len == 0) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "se is mandatory. Cannot be empty");
    }

    sas->expiry = ngx_http_blob_sas_parse_time(&sas->se);

    if (sas->expiry == (time_t) NGX_ERROR) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "se is not a valid ISO 8601 UTC time.");
    }

    if (sas->st.len) {
        sas->start = ngx_http_blob_sas_parse_time(&sas->st);

        if (sas->start == (time_t) NGX_ERROR) {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                       "st is not a valid ISO 8601 UTC time.");
        }
    }

    if (sas->spr.len) {
        if (sas->spr.len == sizeof("https") - 1
            && ngx_strncmp(sas->spr.data, "https", sas->spr.len) == 0)
        {
            sas->https_only = 1;

        } else if (!(sas->spr.len == sizeof("https,http") - 1
                     && (ngx_strncmp(sas->spr.data, "https,http",
                                     sas->spr.len) == 0
                         || ngx_strncmp(sas->spr.data, "http,https",
                                        sas->spr.len) == 0)))
        {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                       "spr must be \"https\" or \"https,http\".");
        }
    }

    if (sas->sip.len
        && ngx_http_blob_sas_parse_ip(&sas->sip, &sas->ip_from, &sas->ip_to)
           != NGX_OK)
    {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, 0,
                   "sip must be an IPv4 address or a range of two.");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_sas_string_to_sign(ngx_http_request_t *r,
    ngx_http_blob_ctx_t *ctx, ngx_http_blob_sas_t *sas, ngx_str_t *sts)
{
    u_char                   *p;
    size_t                    len;
    ngx_uint_t                v2018, v2020, blob;
    ngx_http_blob_account_t  *account;

    account = ctx->account;

    v2018 = ngx_http_blob_sas_version_cmp(&sas->sv, "2018-11-09") >= 0;
    v2020 = ngx_http_blob_sas_version_cmp(&sas->sv, "2020-12-06") >= 0;

    if (sas->account) {
        len = account->name.len + sas->sp.len + sas->ss.len + sas->srt.len
              + sas->st.len + sas->se.len + sas->sip.len + sas->spr.len
              + sas->sv.len + sas->ses.len + 10;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        sts->data = p;

        p = ngx_sprintf(p, "%V\n%V\n%V\n%V\n%V\n%V\n%V\n%V\n%V\n",
                        &account->name, &sas->sp, &sas->ss, &sas->srt,
                        &sas->st, &sas->se, &sas->sip, &sas->spr, &sas->sv);

        if (v2020) {
            p = ngx_sprintf(p, "%V\n", &sas->ses);
        }

        sts->len = p - sts->data;

        return NGX_OK;
    }

    /* a service SAS names the container, or the one blob, it grants */

    blob = (sas->sr.data[0] == 'b' && ctx->blob.len);

    len = sas->sp.len + sas->st.len + sas->se.len
          + sizeof("/blob//") + account->name.len + ctx->container.len
          + 1 + ctx->blob.len
          + sas->si.len + sas->sip.len + sas->spr.len + sas->sv.len
          + sas->sr.len + sas->snapshot.len + sas->ses.len
          + sas->rscc.len + sas->rscd.len + sas->rsce.len + sas->rscl.len
          + sas->rsct.len + 16;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    sts->data = p;

    p = ngx_sprintf(p, "%V\n%V\n%V\n/blob/%V/%V", &sas->sp, &sas->st,
                    &sas->se, &account->name, &ctx->container);

    if (blob) {
        p = ngx_sprintf(p, "/%V", &ctx->blob);
    }

    p = ngx_sprintf(p, "\n%V\n%V\n%V\n%V\n",
                    &sas->si, &sas->sip, &sas->spr, &sas->sv);

    if (v2018) {
        p = ngx_sprintf(p, "%V\n%V\n", &sas->sr, &sas->snapshot);
    }

    if (v2020) {
        p = ngx_sprintf(p, "%V\n", &sas->ses);
    }

    p = ngx_sprintf(p, "%V\n%V\n%V\n%V\n%V", &sas->rscc, &sas->rscd,
                    &sas->rsce, &sas->rscl, &sas->rsct);

    sts->len = p - sts->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_blob_sas_verify(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_sas_t *sas, ngx_http_blob_error_detail_t *detail)
{
    u_char                    digest[EVP_MAX_MD_SIZE];
    ngx_str_t                 sts, computed;
    ngx_uint_t                k;
    ngx_http_blob_account_t  *account;

    account = ctx->account;

    if (ngx_http_blob_sas_string_to_sign(r, ctx, sas, &sts) != NGX_OK) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "blob sas string to sign: \"%V\"", &sts);

    if (account->nkeys == 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "blob: account \"%V\" has no key in blob_keys_file",
                      &account->name);
    }

    computed.data = digest;

    for (k = 0; k < account->nkeys; k++) {

        if (ngx_http_blob_hmac_sha256(account, k, &sts, &computed)
            != NGX_OK)
        {
            continue;
        }

        if (ngx_http_blob_signature_equal(&computed, &sas->sig)) {
            ngx_explicit_memzero(digest, sizeof(digest));
            return NGX_OK;
        }
    }

    ngx_explicit_memzero(digest, sizeof(digest));

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "blob: %s SAS signature mismatch for account \"%V\"",
                  sas->account ? "account" : "service", &account->name);

    return ngx_http_blob_auth_fail(r, ctx, detail,
               NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED, sts.len,
               "Signature did not match. String to sign used was %V",
               &sts);
}


/* what a verified token allows: time, protocol, address, scope, rights */

static ngx_int_t
ngx_http_blob_sas_grants(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_sas_t *sas, ngx_http_blob_error_detail_t *detail)
{
    u_char      *p, *last, start[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")],
                 expiry[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")],
                 current[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];
    time_t       now;
    in_addr_t    addr;
    ngx_str_t    s, e, c;
    ngx_uint_t   https, granted, letter, allowed;

    now = ngx_time();

    if (sas->start > now || sas->expiry < now
        || (sas->st.len && sas->start >= sas->expiry))
    {
        s.data = start;
        s.len = sas->st.len ? (size_t) (ngx_http_time(start, sas->start)
                                        - start)
                            : 0;

        e.data = expiry;
        e.len = ngx_http_time(expiry, sas->expiry) - expiry;

        c.data = current;
        c.len = ngx_http_time(current, now) - current;

        if (sas->st.len && sas->start >= sas->expiry) {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED,
                       s.len + e.len,
                       "Signed expiry time [%V] must be after signed start "
                       "time [%V]", &e, &s);
        }

        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED,
                   s.len + e.len + c.len,
                   "Signature not valid in the specified time frame: "
                   "Start [%V] - Expiry [%V] - Current [%V]", &s, &e, &c);
    }

    https = 0;

#if (NGX_HTTP_SSL)
    https = (r->connection->ssl != NULL);
#endif

    if (sas->https_only && !https) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHORIZATION_PROTOCOL_MISMATCH, 0,
                   NULL);
    }

    if (sas->sip.len) {
        if (ngx_http_blob_sas_client_ip(r, &addr) != NGX_OK
            || addr < sas->ip_from || addr > sas->ip_to)
        {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHORIZATION_SOURCE_IP_MISMATCH,
                       0, NULL);
        }
    }

    if (sas->account) {

        if (ngx_strlchr(sas->ss.data, sas->ss.data + sas->ss.len, 'b')
            == NULL)
        {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                       NGX_HTTP_BLOB_ERR_AUTHORIZATION_SERVICE_MISMATCH, 0,
                       NULL);
        }

        switch (ctx->level) {
        case NGX_HTTP_BLOB_LEVEL_SERVICE:
            letter = 's';
            break;
        case NGX_HTTP_BLOB_LEVEL_CONTAINER:
            letter = 'c';
            break;
        default: /* NGX_HTTP_BLOB_LEVEL_BLOB */
            letter = 'o';
            break;
        }

        p = sas->srt.data;
        last = p + sas->srt.len;

        if (ctx->op && ctx->op->any_level) {
            /* Get Account Information: any resource type will do */
            allowed = (ngx_strlchr(p, last, 's') || ngx_strlchr(p, last, 'c')
                       || ngx_strlchr(p, last, 'o'));

        } else {
            allowed = (ngx_strlchr(p, last, (u_char) letter) != NULL);
        }

        if (!allowed) {
            return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHORIZATION_RESOURCE_TYPE_MISMATCH, 0,
                   NULL);
        }
    }

    /*
     * op->perm lists the letters any one of which allows the operation
     * ("w" or "c" for Put Blob); an operation that lists none is not open
     * to a SAS at all, except Get Account Information, which any
     * permission allows.  A service SAS reaches no container operation
     * but List Blobs.
     */

    if (ctx->op == NULL) {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHORIZATION_PERMISSION_MISMATCH, 0,
                   NULL);
    }

    if (ctx->op->any_level) {
        return NGX_OK;
    }

    granted = ngx_http_blob_sas_permissions(&sas->sp);

    if ((granted & ctx->op->perm) == 0
        || (!sas->account
            && ctx->level != NGX_HTTP_BLOB_LEVEL_BLOB
            && !(ctx->op->perm & NGX_HTTP_BLOB_PERM_LIST)))
    {
        return ngx_http_blob_auth_fail(r, ctx, detail,
                   NGX_HTTP_BLOB_ERR_AUTHORIZATION_PERMISSION_MISMATCH, 0,
                   NULL);
    }

    return NGX_OK;
}


/* rscc, rscd, rsce, rscl, rsct: response headers Get Blob must send */

static ngx_int_t
ngx_http_blob_sas_overrides(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_sas_t *sas)
{
    ngx_uint_t        i;
    ngx_str_t        *value;
    ngx_table_elt_t  *h;

    static struct {
        ngx_str_t     name;
        size_t        offset;
    }  overrides[] = {
        { ngx_string("Cache-Control"),
          offsetof(ngx_http_blob_sas_t, rscc) },
        { ngx_string("Content-Disposition"),
          offsetof(ngx_http_blob_sas_t, rscd) },
        { ngx_string("Content-Encoding"),
          offsetof(ngx_http_blob_sas_t, rsce) },
        { ngx_string("Content-Language"),
          offsetof(ngx_http_blob_sas_t, rscl) },
        { ngx_string("Content-Type"),
          offsetof(ngx_http_blob_sas_t, rsct) }
    };

    ctx->sas_overrides = NULL;

    for (i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
        value = (ngx_str_t *) ((u_char *) sas + overrides[i].offset);

        if (value->len == 0) {
            continue;
        }

        if (ctx->sas_overrides == NULL) {
            ctx->sas_overrides = ngx_array_create(r->pool, 5,
                                                  sizeof(ngx_table_elt_t));
            if (ctx->sas_overrides == NULL) {
                return NGX_ERROR;
            }
        }

        h = ngx_array_push(ctx->sas_overrides);
        if (h == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(h, sizeof(ngx_table_elt_t));

        h->hash = 1;
        h->key = overrides[i].name;
        h->value = *value;

        h->lowcase_key = ngx_pnalloc(r->pool, h->key.len);
        if (h->lowcase_key == NULL) {
            return NGX_ERROR;
        }

        ngx_strlow(h->lowcase_key, h->key.data, h->key.len);
    }

    return NGX_OK;
}


/* the client's IPv4 address in host order; IPv6 only when v4-mapped */

static ngx_int_t
ngx_http_blob_sas_client_ip(ngx_http_request_t *r, in_addr_t *addr)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    u_char               *p;
    struct sockaddr_in6  *sin6;
#endif

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        *addr = ntohl(sin->sin_addr.s_addr);
        return NGX_OK;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;

        if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            return NGX_DECLINED;
        }

        p = sin6->sin6_addr.s6_addr;
        *addr = ((in_addr_t) p[12] << 24) | ((in_addr_t) p[13] << 16)
                | ((in_addr_t) p[14] << 8) | p[15];
        return NGX_OK;
#endif

    default:
        return NGX_DECLINED;
    }
}


/* "a.b.c.d" or "a.b.c.d-e.f.g.h", an inclusive range */

static ngx_int_t
ngx_http_blob_sas_parse_ip(ngx_str_t *value, in_addr_t *from, in_addr_t *to)
{
    u_char     *dash, *last;
    in_addr_t   a, b;

    last = value->data + value->len;
    dash = ngx_strlchr(value->data, last, '-');

    a = ngx_inet_addr(value->data, (dash ? dash : last) - value->data);
    if (a == INADDR_NONE) {
        return NGX_ERROR;
    }

    b = a;

    if (dash) {
        b = ngx_inet_addr(dash + 1, last - dash - 1);
        if (b == INADDR_NONE) {
            return NGX_ERROR;
        }
    }

    *from = ntohl(a);
    *to = ntohl(b);

    if (*from > *to) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The ISO 8601 UTC forms Azure accepts: YYYY-MM-DD, YYYY-MM-DDThh:mmZ,
 * YYYY-MM-DDThh:mm:ssZ and YYYY-MM-DDThh:mm:ss.fffffffZ; fractions of a
 * second are dropped.
 */

static time_t
ngx_http_blob_sas_parse_time(ngx_str_t *value)
{
    u_char     *p, *last;
    ngx_int_t   year, month, day, hour, min, sec, leap;

    static const ngx_int_t  mday[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    p = value->data;
    last = p + value->len;

    if (last - p < 10 || p[4] != '-' || p[7] != '-') {
        return NGX_ERROR;
    }

    year = ngx_atoi(p, 4);
    month = ngx_atoi(p + 5, 2);
    day = ngx_atoi(p + 8, 2);

    p += 10;

    hour = 0;
    min = 0;
    sec = 0;

    if (p < last) {

        if (last - p < 6 || p[0] != 'T' || p[3] != ':') {
            return NGX_ERROR;
        }

        hour = ngx_atoi(p + 1, 2);
        min = ngx_atoi(p + 4, 2);

        p += 6;

        if (p < last && *p == ':') {

            if (last - p < 3) {
                return NGX_ERROR;
            }

            sec = ngx_atoi(p + 1, 2);

            p += 3;

            if (p < last && *p == '.') {
                p++;

                if (p == last || *p < '0' || *p > '9') {
                    return NGX_ERROR;
                }

                while (p < last && *p >= '0' && *p <= '9') {
                    p++;
                }
            }
        }

        if (p == last || *p != 'Z') {
            return NGX_ERROR;
        }

        p++;
    }

    if (p != last
        || year == NGX_ERROR || month == NGX_ERROR || day == NGX_ERROR
        || hour == NGX_ERROR || min == NGX_ERROR || sec == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    leap = (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0));

    if (year < 1970 || month < 1 || month > 12 || day < 1
        || day > mday[month - 1] + (month == 2 ? leap : 0)
        || hour > 23 || min > 59 || sec > 59)
    {
        return NGX_ERROR;
    }

    /* Gauss' formula, as in ngx_parse_http_time(): March is month 1 */

    month -= 2;

    if (month <= 0) {
        month += 12;
        year -= 1;
    }

    return (time_t) (365 * year + year / 4 - year / 100 + year / 400
                     + 367 * month / 12 - 30
                     + day - 1
                     - 719527 + 31 + 28) * 86400
           + hour * 3600 + min * 60 + sec;
}


static ngx_int_t
ngx_http_blob_sas_version_valid(ngx_str_t *sv)
{
    ngx_uint_t  i;

    if (sv->len != sizeof("2015-04-05") - 1) {
        return NGX_ERROR;
    }

    for (i = 0; i < sv->len; i++) {
        if (i == 4 || i == 7) {
            if (sv->data[i] != '-') {
                return NGX_ERROR;
            }

        } else if (sv->data[i] < '0' || sv->data[i] > '9') {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* versions are fixed-width dates: byte order is time order */

static ngx_int_t
ngx_http_blob_sas_version_cmp(ngx_str_t *sv, char *v)
{
    return ngx_memn2cmp(sv->data, (u_char *) v, sv->len, ngx_strlen(v));
}


static ngx_uint_t
ngx_http_blob_sas_permissions(ngx_str_t *sp)
{
    ngx_uint_t  i, perm;

    perm = 0;

    /* letters we have no operation for (x, y, t, f, m, e, i...) grant
     * nothing here */

    for (i = 0; i < sp->len; i++) {
        switch (sp->data[i]) {
        case 'r':
            perm |= NGX_HTTP_BLOB_PERM_READ;
            break;
        case 'a':
            perm |= NGX_HTTP_BLOB_PERM_ADD;
            break;
        case 'c':
            perm |= NGX_HTTP_BLOB_PERM_CREATE;
            break;
        case 'w':
            perm |= NGX_HTTP_BLOB_PERM_WRITE;
            break;
        case 'd':
            perm |= NGX_HTTP_BLOB_PERM_DELETE;
            break;
        case 'l':
            perm |= NGX_HTTP_BLOB_PERM_LIST;
            break;
        default:
            break;
        }
    }

    return perm;
}

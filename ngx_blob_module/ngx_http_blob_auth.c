
/*
 * ngx_blob_module: authorization entry point.
 *
 * Picks the scheme a request carries (Shared Key in the Authorization
 * header, or a shared access signature in the query string) and hands it
 * to the file that implements it.  A request that carries no credentials
 * at all is declined, so that dispatch can decide on anonymous access;
 * anything else that does not verify is an error: deny by default.
 *
 * The HMAC and the constant-time comparison both schemes use live here.
 */


#include "ngx_http_blob_module.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>


static void ngx_http_blob_hmac_cleanup(void *data);


static ngx_int_t ngx_http_blob_auth_scheme(ngx_str_t *value, char *scheme);


ngx_int_t
ngx_http_blob_authorize(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_error_detail_t *detail)
{
    u_char           *p, *last;
    ngx_str_t         sig, scheme;
    ngx_table_elt_t  *h;

    ctx->authenticated = 0;
    ctx->sas = 0;

    if (ctx->account == NULL) {
        /* dispatch resolves the account first; never trust its absence */
        ctx->error = NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED;
        return NGX_ERROR;
    }

    h = ngx_http_blob_header_in(r, "authorization");

    if (h != NULL) {

        if (ngx_http_blob_auth_scheme(&h->value, "SharedKey") == NGX_OK
            || ngx_http_blob_auth_scheme(&h->value, "SharedKeyLite")
               == NGX_OK)
        {
            return ngx_http_blob_auth_shared_key(r, ctx, &h->value, detail);
        }

        /* name the scheme we refuse, never echo the credentials */

        p = h->value.data;
        last = p + h->value.len;

        while (p < last && *p != ' ') {
            p++;
        }

        scheme.data = h->value.data;
        scheme.len = ngx_min((size_t) (p - h->value.data), 32);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "blob: unsupported authorization scheme \"%V\"",
                      &scheme);

        ctx->error = NGX_HTTP_BLOB_ERR_AUTHENTICATION_FAILED;

        if (detail) {
            detail->auth_detail.len = sizeof("Authentication scheme "
                                             " is not supported.") - 1
                                      + scheme.len;
            detail->auth_detail.data = ngx_pnalloc(r->pool,
                                                   detail->auth_detail.len);
            if (detail->auth_detail.data == NULL) {
                ngx_str_null(&detail->auth_detail);
                ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
                return NGX_ERROR;
            }

            ngx_sprintf(detail->auth_detail.data,
                        "Authentication scheme %V is not supported.",
                        &scheme);
        }

        return NGX_ERROR;
    }

    if (ngx_http_blob_arg(r, "sig", &sig) == NGX_OK) {
        return ngx_http_blob_auth_sas(r, ctx, detail);
    }

    return NGX_DECLINED;
}


/* "SharedKey acc:sig" matches "SharedKey", but not "SharedKeyLite" */

static ngx_int_t
ngx_http_blob_auth_scheme(ngx_str_t *value, char *scheme)
{
    size_t  len;

    len = ngx_strlen(scheme);

    if (value->len > len
        && ngx_strncasecmp(value->data, (u_char *) scheme, len) == 0
        && value->data[len] == ' ')
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * An HMAC context keyed with one of the account's keys, made when the keys
 * are read.  HMAC() would look the algorithm up in OpenSSL's provider
 * tables (under a lock) and hash the key pads for every request: most of
 * the cost of a signature check on a small request.  A copy of this
 * context starts from the keyed state instead.
 */

ngx_int_t
ngx_http_blob_hmac_init(ngx_pool_t *pool, ngx_http_blob_account_t *account,
    ngx_uint_t key)
{
    EVP_MAC             *mac;
    EVP_MAC_CTX         *ctx;
    OSSL_PARAM           params[2];
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) {
        return NGX_ERROR;
    }

    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (ctx == NULL) {
        return NGX_ERROR;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (!EVP_MAC_init(ctx, account->key[key], account->key_len[key],
                      params))
    {
        EVP_MAC_CTX_free(ctx);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_blob_hmac_cleanup;
    cln->data = ctx;

    account->hmac[key] = ctx;

    return NGX_OK;
}


static void
ngx_http_blob_hmac_cleanup(void *data)
{
    EVP_MAC_CTX_free(data);
}


/*
 * HMAC-SHA256 of the string-to-sign with one of the account's decoded keys;
 * the raw 32-byte digest is written to signature->data, which must have
 * room for EVP_MAX_MD_SIZE bytes.
 */

ngx_int_t
ngx_http_blob_hmac_sha256(ngx_http_blob_account_t *account, ngx_uint_t key,
    ngx_str_t *string_to_sign, ngx_str_t *signature)
{
    size_t        len;
    EVP_MAC_CTX  *ctx;

    if (key >= account->nkeys || account->key_len[key] == 0
        || account->hmac[key] == NULL)
    {
        return NGX_ERROR;
    }

    ctx = EVP_MAC_CTX_dup(account->hmac[key]);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    len = 0;

    if (!EVP_MAC_update(ctx, string_to_sign->data, string_to_sign->len)
        || !EVP_MAC_final(ctx, signature->data, &len, EVP_MAX_MD_SIZE))
    {
        EVP_MAC_CTX_free(ctx);
        return NGX_ERROR;
    }

    EVP_MAC_CTX_free(ctx);

    signature->len = len;

    return NGX_OK;
}


/*
 * 1 when both signatures are equal.  The lengths are public (a SHA-256
 * digest); the bytes are compared in constant time so that a client
 * cannot learn a valid signature byte by byte from response timing.
 */

ngx_int_t
ngx_http_blob_signature_equal(ngx_str_t *a, ngx_str_t *b)
{
    if (a->len != b->len || a->len == 0) {
        return 0;
    }

    return CRYPTO_memcmp(a->data, b->data, a->len) == 0;
}


/*
 * Deny with an Azure error and, where Azure gives one, its
 * AuthenticationErrorDetail; "extra" is the total length of the strings the
 * format substitutes.  Returns NGX_ERROR, for "return ...(...)".
 */

ngx_int_t
ngx_http_blob_auth_fail(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx,
    ngx_http_blob_error_detail_t *detail, ngx_http_blob_error_e error,
    size_t extra, const char *fmt, ...)
{
    u_char   *p, *last;
    size_t    size;
    va_list   args;

    ctx->error = error;

    if (detail == NULL || fmt == NULL) {
        return NGX_ERROR;
    }

    size = ngx_strlen(fmt) + extra;

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        ngx_str_null(&detail->auth_detail);
        return NGX_ERROR;
    }

    va_start(args, fmt);
    last = ngx_vslprintf(p, p + size, fmt, args);
    va_end(args);

    detail->auth_detail.data = p;
    detail->auth_detail.len = last - p;

    return NGX_ERROR;
}

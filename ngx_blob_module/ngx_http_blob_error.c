
/*
 * ngx_blob_module: Azure errors.
 *
 * SDKs decide on retries from the XML error code, not only from the status,
 * so every 4xx/5xx the module produces comes from this one table and carries
 * x-ms-error-code and the <Error> body (none on HEAD).  nginx's own HTML
 * error pages are never shown to a client of this module.
 */


#include "ngx_http_blob_module.h"


typedef struct {
    ngx_uint_t    status;
    ngx_str_t     code;
    ngx_str_t     message;
} ngx_http_blob_error_info_t;


#define ngx_http_blob_err(status, code, message)                             \
    { status, ngx_string(code), ngx_string(message) }


static ngx_http_blob_error_info_t  ngx_http_blob_errors[] = {

    ngx_http_blob_err(200, "", ""),

    ngx_http_blob_err(400, "InvalidQueryParameterValue",
        "Value for one of the query parameters specified in the request URI "
        "is invalid."),
    ngx_http_blob_err(400, "InvalidHeaderValue",
        "The value for one of the HTTP headers is not in the correct "
        "format."),
    ngx_http_blob_err(400, "MissingRequiredHeader",
        "An HTTP header that's mandatory for this request is not "
        "specified."),
    ngx_http_blob_err(400, "MissingRequiredQueryParameter",
        "A query parameter that's mandatory for this request is not "
        "specified."),
    ngx_http_blob_err(400, "InvalidInput",
        "One of the request inputs is not valid."),
    ngx_http_blob_err(400, "InvalidUri",
        "The requested URI does not represent any resource on the server."),
    ngx_http_blob_err(400, "InvalidResourceName",
        "The specified resource name contains invalid characters."),
    ngx_http_blob_err(400, "OutOfRangeInput",
        "One of the request inputs is out of range."),
    ngx_http_blob_err(400, "InvalidMd5",
        "The MD5 value specified in the request is invalid. The MD5 value "
        "must be 128 bits and Base64-encoded."),
    ngx_http_blob_err(400, "Md5Mismatch",
        "The MD5 value specified in the request did not match with the MD5 "
        "value calculated by the server."),
    ngx_http_blob_err(400, "Crc64Mismatch",
        "The CRC64 value specified in the request did not match with the "
        "CRC64 value calculated by the server."),
    ngx_http_blob_err(400, "InvalidXmlDocument",
        "XML specified is not syntactically valid."),
    ngx_http_blob_err(400, "InvalidXmlNodeValue",
        "The value for one of the XML nodes is not in the correct format."),
    ngx_http_blob_err(400, "InvalidBlobOrBlock",
        "The specified blob or block content is invalid."),
    ngx_http_blob_err(400, "InvalidBlockList",
        "The specified block list is invalid."),
    ngx_http_blob_err(409, "BlockCountExceedsLimit",
        "The uncommitted block count cannot exceed the maximum limit of "
        "100,000 blocks."),
    ngx_http_blob_err(400, "BlockListTooLong",
        "The block list may not contain more than 50,000 blocks."),
    ngx_http_blob_err(413, "RequestBodyTooLarge",
        "The request body is too large and exceeds the maximum permissible "
        "limit."),
    ngx_http_blob_err(400, "InvalidMetadata",
        "The metadata specified is invalid. It has characters that are not "
        "permitted."),
    ngx_http_blob_err(400, "EmptyMetadataKey",
        "The key for one of the metadata key-value pairs is empty."),
    ngx_http_blob_err(400, "MetadataTooLarge",
        "The size of the specified metadata exceeds the maximum size "
        "permitted."),
    ngx_http_blob_err(400, "UnsupportedHttpVerb",
        "The resource doesn't support the specified HTTP verb."),
    ngx_http_blob_err(400, "UnsupportedQueryParameter",
        "One of the query parameters specified in the request URI is not "
        "supported."),
    ngx_http_blob_err(400, "UnsupportedHeader",
        "One of the headers specified in the request is not supported."),
    ngx_http_blob_err(400, "InvalidAuthenticationInfo",
        "Authentication information is not given in the correct format. "
        "Check the value of Authorization header."),
    ngx_http_blob_err(400, "OutOfRangeQueryParameterValue",
        "One of the query parameters specified in the request URI is outside "
        "the permissible range."),
    ngx_http_blob_err(400, "InvalidRange",
        "The range specified is invalid for the current size of the "
        "resource."),

    ngx_http_blob_err(403, "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of "
        "Authorization header is formed correctly including the signature."),
    ngx_http_blob_err(403, "AuthorizationFailure",
        "This request is not authorized to perform this operation."),
    ngx_http_blob_err(403, "AuthorizationPermissionMismatch",
        "This request is not authorized to perform this operation using "
        "this permission."),
    ngx_http_blob_err(403, "AuthorizationResourceTypeMismatch",
        "This request is not authorized to perform this operation using "
        "this resource type."),
    ngx_http_blob_err(403, "AuthorizationServiceMismatch",
        "This request is not authorized to perform this operation using "
        "this service."),
    ngx_http_blob_err(403, "AuthorizationProtocolMismatch",
        "This request is not authorized to perform this operation using "
        "this protocol."),
    ngx_http_blob_err(403, "AuthorizationSourceIPMismatch",
        "This request is not authorized to perform this operation using "
        "this source IP."),

    ngx_http_blob_err(401, "NoAuthenticationInformation",
        "Server failed to authenticate the request. Please refer to the "
        "information in the www-authenticate header."),

    ngx_http_blob_err(404, "ResourceNotFound",
        "The specified resource does not exist."),
    ngx_http_blob_err(404, "ContainerNotFound",
        "The specified container does not exist."),
    ngx_http_blob_err(404, "BlobNotFound",
        "The specified blob does not exist."),
    ngx_http_blob_err(404, "ResourceNotFound",
        "The specified account does not exist."),

    ngx_http_blob_err(405, "UnsupportedHttpVerb",
        "The resource doesn't support the specified HTTP verb."),

    ngx_http_blob_err(409, "ContainerAlreadyExists",
        "The specified container already exists."),
    ngx_http_blob_err(409, "ContainerBeingDeleted",
        "The specified container is being deleted."),
    ngx_http_blob_err(409, "BlobAlreadyExists",
        "The specified blob already exists."),
    ngx_http_blob_err(409, "InvalidBlobType",
        "The blob type is invalid for this operation."),
    ngx_http_blob_err(409, "PathConflict",
        "The specified path, or an element of the path, exists and its "
        "resource type is invalid for this operation."),
    ngx_http_blob_err(409, "FeatureNotSupported",
        "This feature is not supported by this gateway."),

    ngx_http_blob_err(304, "ConditionNotMet",
        "The condition specified using HTTP conditional header(s) is not "
        "met."),
    ngx_http_blob_err(412, "ConditionNotMet",
        "The condition specified using HTTP conditional header(s) is not "
        "met."),
    ngx_http_blob_err(412, "TargetConditionNotMet",
        "The target condition specified using HTTP conditional header(s) "
        "is not met."),
    ngx_http_blob_err(416, "InvalidRange",
        "The range specified is invalid for the current size of the "
        "resource."),

    ngx_http_blob_err(411, "MissingContentLengthHeader",
        "The Content-Length header was not specified."),

    ngx_http_blob_err(500, "InternalError",
        "The server encountered an internal error. Please retry the "
        "request."),
    ngx_http_blob_err(503, "ServerBusy",
        "The server is currently unable to receive requests. Please retry "
        "your request."),
    ngx_http_blob_err(507, "InsufficientStorage",
        "The storage behind this gateway has no space left for the "
        "request."),
};


ngx_uint_t
ngx_http_blob_error_status(ngx_http_blob_error_e error)
{
    if (error >= NGX_HTTP_BLOB_ERR_LAST) {
        error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    return ngx_http_blob_errors[error].status;
}


static size_t
ngx_http_blob_error_element_len(char *name, ngx_str_t *value)
{
    if (value == NULL || value->len == 0) {
        return 0;
    }

    return 2 * ngx_strlen(name) + sizeof("<></>") - 1
           + ngx_http_blob_xml_escape(NULL, value->data, value->len);
}


static u_char *
ngx_http_blob_error_element(u_char *p, char *name, ngx_str_t *value)
{
    if (value == NULL || value->len == 0) {
        return p;
    }

    *p++ = '<';
    p = ngx_cpymem(p, name, ngx_strlen(name));
    *p++ = '>';
    p += ngx_http_blob_xml_escape(p, value->data, value->len);
    *p++ = '<';
    *p++ = '/';
    p = ngx_cpymem(p, name, ngx_strlen(name));
    *p++ = '>';

    return p;
}


ngx_int_t
ngx_http_blob_error(ngx_http_request_t *r, ngx_http_blob_error_e error,
    ngx_http_blob_error_detail_t *detail)
{
    size_t                       len;
    u_char                      *p;
    ngx_int_t                    rc;
    ngx_str_t                    code, message;
    ngx_buf_t                   *b;
    ngx_tm_t                     tm;
    ngx_time_t                  *tp;
    ngx_chain_t                  out;
    ngx_http_blob_ctx_t         *ctx;
    ngx_http_blob_error_info_t  *info;

    if (error == NGX_HTTP_BLOB_OK || error >= NGX_HTTP_BLOB_ERR_LAST) {
        error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    info = &ngx_http_blob_errors[error];
    ctx = ngx_http_get_module_ctx(r, ngx_http_blob_module);

    if (r->header_sent) {
        /* too late for an error document: cut the connection instead */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "blob: %V after the response header was sent",
                      &info->code);
        return NGX_ERROR;
    }

    ngx_log_error((info->status >= 500 ? NGX_LOG_ERR : NGX_LOG_INFO),
                  r->connection->log, 0, "blob: %ui %V: %V",
                  info->status, &info->code,
                  detail && detail->reason.len ? &detail->reason
                                               : &info->message);

    /*
     * the body of a rejected request is read and dropped, so the
     * connection stays usable for keep-alive; but a body refused for its
     * size may be gigabytes: as nginx does with its own 413, the
     * connection is closed after a bounded lingering read instead
     */

    if (info->status == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        r->keepalive = 0;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    /*
     * what an operation prepared for a success goes; 304 keeps its ETag and
     * 416 its Content-Range, which the caller adds before
     */

    if (info->status != NGX_HTTP_NOT_MODIFIED
        && info->status != NGX_HTTP_RANGE_NOT_SATISFIABLE)
    {
        ngx_http_clean_header(r);
    }

    r->headers_out.status = info->status;

    code = info->code;

    if (ngx_http_blob_header_out(r, "x-ms-error-code", &code) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx != NULL && ngx_http_blob_common_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (error == NGX_HTTP_BLOB_ERR_SERVER_BUSY) {
        if (ngx_http_blob_header_out_cstr(r, "Retry-After", "1") != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (error == NGX_HTTP_BLOB_ERR_NO_AUTHENTICATION_INFORMATION) {
        if (ngx_http_blob_header_out_cstr(r, "WWW-Authenticate",
                                          "Bearer authorization_uri="
                                          "https://login.microsoftonline.com"
                                          "/common/oauth2/authorize "
                                          "resource_id="
                                          "https://storage.azure.com")
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (info->status == 304 || r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
        r->headers_out.content_length_n = 0;
        return ngx_http_send_header(r);
    }

    message = info->message;

    /* Azure appends the request id and the time to every message */

    len = sizeof("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>"
                 "</Code><Message></Message></Error>") - 1
          + code.len
          + ngx_http_blob_xml_escape(NULL, message.data, message.len)
          + sizeof("\nRequestId:") - 1 + (ctx ? ctx->request_id.len : 0)
          + sizeof("\nTime:2026-11-25T23:58:01.0000000Z") - 1;

    if (detail) {
        len += ngx_http_blob_error_element_len("HeaderName",
                                               &detail->header_name)
               + ngx_http_blob_error_element_len("HeaderValue",
                                                 &detail->header_value)
               + ngx_http_blob_error_element_len("QueryParameterName",
                                                 &detail->query_name)
               + ngx_http_blob_error_element_len("QueryParameterValue",
                                                 &detail->query_value)
               + ngx_http_blob_error_element_len("AuthenticationErrorDetail",
                                                 &detail->auth_detail)
               + ngx_http_blob_error_element_len("Reason", &detail->reason);
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(b->last, "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
                   "<Error><Code>", sizeof("<?xml version=\"1.0\" "
                   "encoding=\"utf-8\"?><Error><Code>") - 1);
    p = ngx_cpymem(p, code.data, code.len);
    p = ngx_cpymem(p, "</Code><Message>", sizeof("</Code><Message>") - 1);
    p += ngx_http_blob_xml_escape(p, message.data, message.len);

    if (ctx) {
        p = ngx_sprintf(p, "\nRequestId:%V", &ctx->request_id);
    }

    tp = ngx_timeofday();
    ngx_gmtime(tp->sec, &tm);

    p = ngx_sprintf(p, "\nTime:%4d-%02d-%02dT%02d:%02d:%02d.%03M0000Z",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec, tp->msec);

    p = ngx_cpymem(p, "</Message>", sizeof("</Message>") - 1);

    if (detail) {
        p = ngx_http_blob_error_element(p, "HeaderName",
                                        &detail->header_name);
        p = ngx_http_blob_error_element(p, "HeaderValue",
                                        &detail->header_value);
        p = ngx_http_blob_error_element(p, "QueryParameterName",
                                        &detail->query_name);
        p = ngx_http_blob_error_element(p, "QueryParameterValue",
                                        &detail->query_value);
        p = ngx_http_blob_error_element(p, "AuthenticationErrorDetail",
                                        &detail->auth_detail);
        p = ngx_http_blob_error_element(p, "Reason", &detail->reason);
    }

    p = ngx_cpymem(p, "</Error>", sizeof("</Error>") - 1);

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/xml");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_blob_error_header(ngx_http_request_t *r, ngx_http_blob_error_e error,
    char *header, ngx_str_t *value)
{
    ngx_http_blob_error_detail_t  detail;

    ngx_memzero(&detail, sizeof(ngx_http_blob_error_detail_t));

    detail.header_name.data = (u_char *) header;
    detail.header_name.len = ngx_strlen(header);

    if (value) {
        detail.header_value = *value;
    }

    return ngx_http_blob_error(r, error, &detail);
}


/* the one errno -> Azure error mapping, as ngx_http_dav_error() is for DAV */

ngx_http_blob_error_e
ngx_http_blob_errno_error(ngx_err_t err)
{
    switch (err) {

    case NGX_ENOENT:
        return NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;

    case NGX_ENOTDIR:
    case NGX_EISDIR:
    case NGX_EEXIST:
    case ENOTEMPTY:
        return NGX_HTTP_BLOB_ERR_PATH_CONFLICT;

    case NGX_ENAMETOOLONG:
    case ELOOP:
        return NGX_HTTP_BLOB_ERR_INVALID_RESOURCE_NAME;

    case NGX_EACCES:
    case NGX_EPERM:
        return NGX_HTTP_BLOB_ERR_AUTHORIZATION_FAILURE;

    case NGX_ENOSPC:
    case EDQUOT:
    case EFBIG:
        return NGX_HTTP_BLOB_ERR_INSUFFICIENT_STORAGE;

    case EAGAIN:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ESTALE:
        return NGX_HTTP_BLOB_ERR_SERVER_BUSY;

    default:
        return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }
}

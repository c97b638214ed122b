
/*
 * ngx_blob_module: the Put Block List request body reader.
 *
 * The body comes from the network, so libxml2 is given as little rope as
 * possible: SAX only (no tree: memory is bounded by the list we keep, not
 * by the document), no network, no DTD loading, no entity substitution,
 * and the parse stops at the first DOCTYPE, entity declaration or entity
 * reference instead of relying on libxml2's own expansion limits.  It runs
 * in a thread task, reading the staged body file in chunks.
 */


#include "ngx_http_blob_module.h"

#include <libxml/parser.h>


#define NGX_HTTP_BLOB_XML_READ_CHUNK  65536

/*
 * The text of one element: an id is at most 88 base64 characters; some
 * room is left for the whitespace an indenting client adds around it.
 */
#define NGX_HTTP_BLOB_XML_TEXT_MAX    256


typedef struct {
    xmlParserCtxtPtr             parser;
    ngx_pool_t                  *pool;
    ngx_array_t                 *refs;
    ngx_uint_t                   max;
    ngx_uint_t                   depth;
    ngx_uint_t                   list;
    ngx_http_blob_error_e        error;
    size_t                       len;
    u_char                       text[NGX_HTTP_BLOB_XML_TEXT_MAX];
} ngx_http_blob_xml_reader_t;


static void ngx_http_blob_xml_reader_fail(ngx_http_blob_xml_reader_t *rd,
    ngx_http_blob_error_e error);
static void ngx_http_blob_xml_reader_start(void *data,
    const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
    int nb_defaulted, const xmlChar **attributes);
static void ngx_http_blob_xml_reader_end(void *data,
    const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri);
static void ngx_http_blob_xml_reader_text(void *data, const xmlChar *ch,
    int len);
static void ngx_http_blob_xml_reader_id(ngx_http_blob_xml_reader_t *rd);
static void ngx_http_blob_xml_reader_subset(void *data, const xmlChar *name,
    const xmlChar *external_id, const xmlChar *system_id);
static void ngx_http_blob_xml_reader_entity_decl(void *data,
    const xmlChar *name, int type, const xmlChar *public_id,
    const xmlChar *system_id, xmlChar *content);
static void ngx_http_blob_xml_reader_reference(void *data,
    const xmlChar *name);
static xmlParserInputPtr ngx_http_blob_xml_reader_resolve(void *data,
    const xmlChar *public_id, const xmlChar *system_id);
static void ngx_http_blob_xml_reader_error(void *data, xmlErrorPtr error);


/*
 * Reads <BlockList> from fd into refs (ngx_http_blob_block_ref_t, ids
 * decoded, document order).  Runs in a thread: syscalls and pool memory
 * only; a read error is left in *err.
 */

ngx_http_blob_error_e
ngx_http_blob_xml_read_block_list(ngx_pool_t *pool, ngx_fd_t fd,
    ngx_array_t *refs, ngx_uint_t max, ngx_err_t *err)
{
    int                          rc;
    u_char                      *buf;
    ssize_t                      n;
    xmlSAXHandler                sax;
    ngx_http_blob_xml_reader_t  *rd;

    *err = 0;

    rd = ngx_pcalloc(pool, sizeof(ngx_http_blob_xml_reader_t));
    if (rd == NULL) {
        return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    buf = ngx_palloc(pool, NGX_HTTP_BLOB_XML_READ_CHUNK);
    if (buf == NULL) {
        return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    rd->pool = pool;
    rd->refs = refs;
    rd->max = max;
    rd->error = NGX_HTTP_BLOB_OK;

    ngx_memzero(&sax, sizeof(xmlSAXHandler));

    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = ngx_http_blob_xml_reader_start;
    sax.endElementNs = ngx_http_blob_xml_reader_end;
    sax.characters = ngx_http_blob_xml_reader_text;
    sax.cdataBlock = ngx_http_blob_xml_reader_text;
    sax.internalSubset = ngx_http_blob_xml_reader_subset;
    sax.externalSubset = ngx_http_blob_xml_reader_subset;
    sax.entityDecl = ngx_http_blob_xml_reader_entity_decl;
    sax.reference = ngx_http_blob_xml_reader_reference;
    sax.resolveEntity = ngx_http_blob_xml_reader_resolve;

    /* a structured handler keeps libxml2 from writing to stderr */
    sax.serror = ngx_http_blob_xml_reader_error;

    rd->parser = xmlCreatePushParserCtxt(&sax, rd, NULL, 0, NULL);
    if (rd->parser == NULL) {
        ngx_pfree(pool, buf);
        return NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    (void) xmlCtxtUseOptions(rd->parser, XML_PARSE_NONET | XML_PARSE_NOERROR
                                         | XML_PARSE_NOWARNING);

    rd->parser->replaceEntities = 0;
    rd->parser->loadsubset = 0;
    rd->parser->validate = 0;

    for ( ;; ) {
        n = read(fd, buf, NGX_HTTP_BLOB_XML_READ_CHUNK);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            *err = ngx_errno;
            rd->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
            break;
        }

        rc = xmlParseChunk(rd->parser, (char *) buf, (int) n, n == 0);

        if (rd->error != NGX_HTTP_BLOB_OK) {
            break;
        }

        if (rc != XML_ERR_OK || !rd->parser->wellFormed) {
            rd->error = NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT;
            break;
        }

        if (n == 0) {
            break;
        }
    }

    xmlFreeParserCtxt(rd->parser);
    ngx_pfree(pool, buf);

    return rd->error;
}


static void
ngx_http_blob_xml_reader_fail(ngx_http_blob_xml_reader_t *rd,
    ngx_http_blob_error_e error)
{
    if (rd->error == NGX_HTTP_BLOB_OK) {
        rd->error = error;
    }

    xmlStopParser(rd->parser);
}


static void
ngx_http_blob_xml_reader_start(void *data, const xmlChar *localname,
    const xmlChar *prefix, const xmlChar *uri, int nb_namespaces,
    const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
    const xmlChar **attributes)
{
    ngx_http_blob_xml_reader_t  *rd = data;

    if (rd->error != NGX_HTTP_BLOB_OK) {
        return;
    }

    switch (rd->depth) {

    case 0:
        if (xmlStrcmp(localname, BAD_CAST "BlockList") != 0) {
            ngx_http_blob_xml_reader_fail(rd,
                                       NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT);
            return;
        }

        break;

    case 1:
        if (xmlStrcmp(localname, BAD_CAST "Latest") == 0) {
            rd->list = NGX_HTTP_BLOB_BLOCK_LATEST;

        } else if (xmlStrcmp(localname, BAD_CAST "Committed") == 0) {
            rd->list = NGX_HTTP_BLOB_BLOCK_COMMITTED;

        } else if (xmlStrcmp(localname, BAD_CAST "Uncommitted") == 0) {
            rd->list = NGX_HTTP_BLOB_BLOCK_UNCOMMITTED;

        } else {
            ngx_http_blob_xml_reader_fail(rd,
                                     NGX_HTTP_BLOB_ERR_INVALID_XML_NODE_VALUE);
            return;
        }

        rd->len = 0;
        break;

    default:
        /* a block id is text only */
        ngx_http_blob_xml_reader_fail(rd,
                                      NGX_HTTP_BLOB_ERR_INVALID_XML_NODE_VALUE);
        return;
    }

    rd->depth++;
}


static void
ngx_http_blob_xml_reader_end(void *data, const xmlChar *localname,
    const xmlChar *prefix, const xmlChar *uri)
{
    ngx_http_blob_xml_reader_t  *rd = data;

    if (rd->error != NGX_HTTP_BLOB_OK) {
        return;
    }

    if (rd->depth == 2) {
        ngx_http_blob_xml_reader_id(rd);
    }

    rd->depth--;
}


static void
ngx_http_blob_xml_reader_text(void *data, const xmlChar *ch, int len)
{
    ngx_http_blob_xml_reader_t  *rd = data;

    int  i;

    if (rd->error != NGX_HTTP_BLOB_OK) {
        return;
    }

    if (rd->depth == 2) {
        if ((size_t) len > NGX_HTTP_BLOB_XML_TEXT_MAX - rd->len) {
            /* far longer than any 64-byte id can be */
            ngx_http_blob_xml_reader_fail(rd,
                                        NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST);
            return;
        }

        ngx_memcpy(rd->text + rd->len, ch, len);
        rd->len += len;
        return;
    }

    /* only the whitespace of indentation may sit between the elements */

    for (i = 0; i < len; i++) {
        if (ch[i] != ' ' && ch[i] != '\t' && ch[i] != CR && ch[i] != LF) {
            ngx_http_blob_xml_reader_fail(rd,
                                     NGX_HTTP_BLOB_ERR_INVALID_XML_NODE_VALUE);
            return;
        }
    }
}


static void
ngx_http_blob_xml_reader_id(ngx_http_blob_xml_reader_t *rd)
{
    u_char                     *p, *last;
    ngx_int_t                   rc;
    ngx_str_t                   b64;
    ngx_http_blob_block_ref_t  *ref;

    if (rd->refs->nelts >= rd->max) {
        ngx_http_blob_xml_reader_fail(rd,
                                  NGX_HTTP_BLOB_ERR_BLOCK_LIST_TOO_LONG);
        return;
    }

    p = rd->text;
    last = rd->text + rd->len;

    while (p < last && (*p == ' ' || *p == '\t' || *p == CR || *p == LF)) {
        p++;
    }

    while (last > p
           && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == CR
               || last[-1] == LF))
    {
        last--;
    }

    b64.data = p;
    b64.len = last - p;

    ref = ngx_array_push(rd->refs);
    if (ref == NULL) {
        ngx_http_blob_xml_reader_fail(rd, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR);
        return;
    }

    ref->list = rd->list;

    rc = ngx_http_blob_block_id_decode(rd->pool, &b64, &ref->id);

    if (rc == NGX_ERROR) {
        ngx_http_blob_xml_reader_fail(rd, NGX_HTTP_BLOB_ERR_INTERNAL_ERROR);
        return;
    }

    if (rc == NGX_DECLINED || ref->id.len > NGX_HTTP_BLOB_MAX_BLOCK_ID) {
        ngx_http_blob_xml_reader_fail(rd, NGX_HTTP_BLOB_ERR_INVALID_BLOCK_LIST);
        return;
    }
}


/* a DOCTYPE, internal or external: nothing in a block list needs one */

static void
ngx_http_blob_xml_reader_subset(void *data, const xmlChar *name,
    const xmlChar *external_id, const xmlChar *system_id)
{
    ngx_http_blob_xml_reader_fail(data, NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT);
}


static void
ngx_http_blob_xml_reader_entity_decl(void *data, const xmlChar *name,
    int type, const xmlChar *public_id, const xmlChar *system_id,
    xmlChar *content)
{
    ngx_http_blob_xml_reader_fail(data, NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT);
}


static void
ngx_http_blob_xml_reader_reference(void *data, const xmlChar *name)
{
    ngx_http_blob_xml_reader_fail(data, NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT);
}


static xmlParserInputPtr
ngx_http_blob_xml_reader_resolve(void *data, const xmlChar *public_id,
    const xmlChar *system_id)
{
    ngx_http_blob_xml_reader_fail(data, NGX_HTTP_BLOB_ERR_INVALID_XML_DOCUMENT);

    return NULL;
}


static void
ngx_http_blob_xml_reader_error(void *data, xmlErrorPtr error)
{
    /* the parse result says it all; the thread may not log */
}

"""Containers and the account: Create/Get/Set/Delete Container, container
ACLs, List Containers, Get Account Information and the Blob service
properties, in raw HTTP, with the exact XML and every error checked, and
the directory tree checked on disk."""

import email.utils
import os
import re
import time
import uuid

ETAG = re.compile(r'^"0x[0-9A-F]+"$')
LIST_ETAG = re.compile(r'^"0x[0-9A-F]+"$')
HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                       r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d\d:\d\d:\d\d GMT$")

RESTYPE = [("restype", "container")]


def new_name(prefix="ct"):
    return prefix + uuid.uuid4().hex[:14]


def create(gateway, name, headers=None):
    return gateway.request("PUT", "/" + name, query=RESTYPE, headers=headers)


def props(gateway, name, method="GET", headers=None):
    return gateway.request(method, "/" + name, query=RESTYPE, headers=headers)


def children(el):
    return [c.tag for c in el]


def http_date(offset):
    return email.utils.formatdate(time.time() + offset, usegmt=True)


def assert_error(r, status, code):
    assert r.status == status, r
    assert r.headers.get("x-ms-error-code") == code, r
    if r.body:
        assert r.xml().find("Code").text == code


# Create Container

def test_create_makes_directory_and_properties(gateway):
    name = new_name()

    r = create(gateway, name)

    assert r.status == 201, r
    assert r.body == b""
    assert r.headers["Content-Length"] == "0"
    assert ETAG.match(r.headers["ETag"]), r.headers
    assert HTTP_DATE.match(r.headers["Last-Modified"]), r.headers
    assert r.headers.get("x-ms-request-id")
    assert (gateway.root / name).is_dir()
    assert (gateway.root / ".blob" / "containers" / (name + ".json")).is_file()


def test_create_twice_is_409(gateway):
    name = new_name()
    assert create(gateway, name).status == 201

    assert_error(create(gateway, name), 409, "ContainerAlreadyExists")


def test_create_invalid_names(gateway):
    for bad in ("ab", "Upper", "a--b", "-ab", "ab-", "a_b", "x" * 64):
        assert_error(create(gateway, bad), 400, "InvalidResourceName")

    assert not (gateway.root / "Upper").exists()


def test_create_with_metadata_and_public_access(gateway):
    name = new_name()

    r = create(gateway, name, headers={"x-ms-meta-Color": "blue",
                                       "x-ms-meta-size": "10",
                                       "x-ms-blob-public-access": "blob"})
    assert r.status == 201, r

    r = props(gateway, name)
    assert r.status == 200, r
    assert r.headers["x-ms-meta-Color"] == "blue"
    assert r.headers["x-ms-meta-size"] == "10"
    assert r.headers["x-ms-blob-public-access"] == "blob"


def test_create_bad_public_access(gateway):
    name = new_name()

    r = create(gateway, name, headers={"x-ms-blob-public-access": "all"})

    assert_error(r, 400, "InvalidHeaderValue")
    assert r.xml().find("HeaderName").text == "x-ms-blob-public-access"
    assert not (gateway.root / name).exists()


def test_create_bad_metadata(gateway):
    name = new_name()

    r = create(gateway, name, headers={"x-ms-meta-1abc": "v"})

    assert_error(r, 400, "InvalidMetadata")
    assert not (gateway.root / name).exists()


# Get Container Properties / Metadata

def test_get_properties_headers(gateway, new_container):
    r = props(gateway, new_container)

    assert r.status == 200, r
    assert r.body == b""
    assert ETAG.match(r.headers["ETag"])
    assert HTTP_DATE.match(r.headers["Last-Modified"])
    assert r.headers["x-ms-lease-status"] == "unlocked"
    assert r.headers["x-ms-lease-state"] == "available"
    assert r.headers["x-ms-has-immutability-policy"] == "false"
    assert r.headers["x-ms-has-legal-hold"] == "false"
    assert "x-ms-blob-public-access" not in r.headers


def test_get_properties_etag_matches_create(gateway):
    name = new_name()
    c = create(gateway, name)

    r = props(gateway, name)

    assert r.headers["ETag"] == c.headers["ETag"]
    assert r.headers["Last-Modified"] == c.headers["Last-Modified"]


def test_head_properties(gateway, new_container):
    r = props(gateway, new_container, method="HEAD")

    assert r.status == 200, r
    assert r.body == b""
    assert ETAG.match(r.headers["ETag"])


def test_get_properties_missing(gateway):
    assert_error(props(gateway, new_name()), 404, "ContainerNotFound")


def test_head_properties_missing_has_no_body(gateway):
    r = props(gateway, new_name(), method="HEAD")

    assert r.status == 404
    assert r.headers["x-ms-error-code"] == "ContainerNotFound"
    assert r.body == b""


def test_get_metadata_only(gateway):
    name = new_name()
    create(gateway, name, headers={"x-ms-meta-a": "1"})

    r = gateway.request("GET", "/" + name,
                        query=RESTYPE + [("comp", "metadata")])

    assert r.status == 200, r
    assert r.headers["x-ms-meta-a"] == "1"
    assert ETAG.match(r.headers["ETag"])
    assert "x-ms-lease-state" not in r.headers


def test_directory_made_on_disk_is_a_container(gateway):
    name = new_name("disk")
    (gateway.root / name).mkdir()

    r = props(gateway, name)

    assert r.status == 200, r
    assert ETAG.match(r.headers["ETag"])
    assert HTTP_DATE.match(r.headers["Last-Modified"])


def test_file_at_root_is_not_a_container(gateway):
    name = new_name("file")
    (gateway.root / name).write_bytes(b"x")

    assert_error(props(gateway, name), 404, "ContainerNotFound")


def test_symlink_at_root_is_not_a_container(gateway, new_container):
    name = new_name("link")
    os.symlink(new_container, gateway.root / name)

    assert_error(props(gateway, name), 404, "ContainerNotFound")


# Set Container Metadata

def test_set_metadata_replaces_all(gateway):
    name = new_name()
    c = create(gateway, name, headers={"x-ms-meta-old": "1"})

    r = gateway.request("PUT", "/" + name,
                        query=RESTYPE + [("comp", "metadata")],
                        headers={"x-ms-meta-new": "2"})

    assert r.status == 200, r
    assert ETAG.match(r.headers["ETag"])
    assert r.headers["ETag"] != c.headers["ETag"]

    g = props(gateway, name)
    assert g.headers["x-ms-meta-new"] == "2"
    assert "x-ms-meta-old" not in g.headers
    assert g.headers["ETag"] == r.headers["ETag"]


def test_set_metadata_keeps_public_access(gateway):
    name = new_name()
    create(gateway, name, headers={"x-ms-blob-public-access": "container"})

    gateway.request("PUT", "/" + name, query=RESTYPE + [("comp", "metadata")],
                    headers={"x-ms-meta-a": "b"})

    assert props(gateway, name).headers["x-ms-blob-public-access"] \
        == "container"


def test_set_metadata_missing_container(gateway):
    r = gateway.request("PUT", "/" + new_name(),
                        query=RESTYPE + [("comp", "metadata")],
                        headers={"x-ms-meta-a": "b"})

    assert_error(r, 404, "ContainerNotFound")


def test_set_metadata_if_modified_since(gateway, new_container):
    r = gateway.request("PUT", "/" + new_container,
                        query=RESTYPE + [("comp", "metadata")],
                        headers={"x-ms-meta-a": "b",
                                 "If-Modified-Since": http_date(3600)})

    assert_error(r, 412, "ConditionNotMet")


def test_set_metadata_invalid(gateway, new_container):
    r = gateway.request("PUT", "/" + new_container,
                        query=RESTYPE + [("comp", "metadata")],
                        headers={"x-ms-meta-a-b": "c"})

    assert_error(r, 400, "InvalidMetadata")


# Container ACL

ACL = ('<?xml version="1.0" encoding="utf-8"?>\n'
       '<SignedIdentifiers>\n'
       '  <SignedIdentifier>\n'
       '    <Id>MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=</Id>\n'
       '    <AccessPolicy>\n'
       '      <Start>2026-01-01T00:00:00.0000000Z</Start>\n'
       '      <Expiry>2027-01-01T00:00:00.0000000Z</Expiry>\n'
       '      <Permission>rwd</Permission>\n'
       '    </AccessPolicy>\n'
       '  </SignedIdentifier>\n'
       '  <SignedIdentifier><Id>second</Id></SignedIdentifier>\n'
       '</SignedIdentifiers>\n')


def acl_query():
    return RESTYPE + [("comp", "acl")]


def test_get_acl_default(gateway, new_container):
    r = gateway.request("GET", "/" + new_container, query=acl_query())

    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/xml"
    assert r.body == (b'<?xml version="1.0" encoding="utf-8"?>'
                      b'<SignedIdentifiers />')
    assert ETAG.match(r.headers["ETag"])
    assert HTTP_DATE.match(r.headers["Last-Modified"])
    assert "x-ms-blob-public-access" not in r.headers


def test_set_acl_round_trip(gateway, new_container):
    r = gateway.request("PUT", "/" + new_container, query=acl_query(),
                        headers={"x-ms-blob-public-access": "container",
                                 "Content-Type": "application/xml"},
                        body=ACL.encode())

    assert r.status == 200, r
    assert ETAG.match(r.headers["ETag"])

    g = gateway.request("GET", "/" + new_container, query=acl_query())

    assert g.status == 200
    assert g.headers["x-ms-blob-public-access"] == "container"
    assert g.headers["ETag"] == r.headers["ETag"]
    assert g.body == (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<SignedIdentifiers><SignedIdentifier>'
        b'<Id>MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=</Id>'
        b'<AccessPolicy><Start>2026-01-01T00:00:00.0000000Z</Start>'
        b'<Expiry>2027-01-01T00:00:00.0000000Z</Expiry>'
        b'<Permission>rwd</Permission></AccessPolicy></SignedIdentifier>'
        b'<SignedIdentifier><Id>second</Id></SignedIdentifier>'
        b'</SignedIdentifiers>')

    assert props(gateway, new_container).headers[
        "x-ms-blob-public-access"] == "container"


def test_set_acl_without_header_makes_private(gateway):
    name = new_name()
    create(gateway, name, headers={"x-ms-blob-public-access": "blob"})

    r = gateway.request("PUT", "/" + name, query=acl_query())

    assert r.status == 200, r
    assert "x-ms-blob-public-access" not in props(gateway, name).headers


def test_set_acl_empty_body_clears_identifiers(gateway, new_container):
    gateway.request("PUT", "/" + new_container, query=acl_query(),
                    body=ACL.encode())

    r = gateway.request("PUT", "/" + new_container, query=acl_query())
    assert r.status == 200, r

    g = gateway.request("GET", "/" + new_container, query=acl_query())
    assert g.xml().tag == "SignedIdentifiers"
    assert len(g.xml()) == 0


def test_set_acl_malformed(gateway, new_container):
    r = gateway.request("PUT", "/" + new_container, query=acl_query(),
                        body=b"<SignedIdentifiers><SignedIdentifier>")

    assert_error(r, 400, "InvalidXmlDocument")


def test_set_acl_wrong_root(gateway, new_container):
    r = gateway.request("PUT", "/" + new_container, query=acl_query(),
                        body=b"<Identifiers/>")

    assert_error(r, 400, "InvalidXmlDocument")


def test_set_acl_doctype_refused(gateway, new_container):
    body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]>'
            b'<SignedIdentifiers><SignedIdentifier><Id>&e;</Id>'
            b'</SignedIdentifier></SignedIdentifiers>')

    r = gateway.request("PUT", "/" + new_container, query=acl_query(),
                        body=body)

    assert_error(r, 400, "InvalidXmlDocument")


def test_set_acl_more_than_five(gateway, new_container):
    body = "<SignedIdentifiers>" + "".join(
        "<SignedIdentifier><Id>id%d</Id></SignedIdentifier>" % i
        for i in range(6)) + "</SignedIdentifiers>"

    r = gateway.request("PUT", "/" + new_container, query=acl_query(),
                        body=body.encode())

    assert_error(r, 400, "InvalidXmlDocument")


def test_set_acl_id_too_long(gateway, new_container):
    body = ("<SignedIdentifiers><SignedIdentifier><Id>%s</Id>"
            "</SignedIdentifier></SignedIdentifiers>" % ("x" * 65))

    r = gateway.request("PUT", "/" + new_container, query=acl_query(),
                        body=body.encode())

    assert_error(r, 400, "InvalidXmlNodeValue")


def test_set_acl_bad_public_access(gateway, new_container):
    r = gateway.request("PUT", "/" + new_container, query=acl_query(),
                        headers={"x-ms-blob-public-access": "public"})

    assert_error(r, 400, "InvalidHeaderValue")


def test_set_acl_if_unmodified_since(gateway, new_container):
    r = gateway.request("PUT", "/" + new_container, query=acl_query(),
                        headers={"If-Unmodified-Since": http_date(-86400)})

    assert_error(r, 412, "ConditionNotMet")


def test_acl_missing_container(gateway):
    r = gateway.request("GET", "/" + new_name(), query=acl_query())
    assert_error(r, 404, "ContainerNotFound")

    r = gateway.request("PUT", "/" + new_name(), query=acl_query(),
                        body=ACL.encode())
    assert_error(r, 404, "ContainerNotFound")


# Delete Container

def test_delete(gateway):
    name = new_name()
    create(gateway, name)
    r = gateway.request("PUT", "/%s/a/b.txt" % name,
                        headers={"x-ms-blob-type": "BlockBlob"}, body=b"x")
    assert r.status == 201, r

    r = gateway.request("DELETE", "/" + name, query=RESTYPE)

    assert r.status == 202, r
    assert r.body == b""
    assert not (gateway.root / name).exists()
    assert not (gateway.root / ".blob" / "containers"
                / (name + ".json")).exists()
    assert_error(props(gateway, name), 404, "ContainerNotFound")


def test_delete_then_create_again(gateway):
    name = new_name()
    create(gateway, name, headers={"x-ms-meta-a": "1"})
    gateway.request("DELETE", "/" + name, query=RESTYPE)

    assert create(gateway, name).status == 201
    assert "x-ms-meta-a" not in props(gateway, name).headers


def test_delete_missing(gateway):
    r = gateway.request("DELETE", "/" + new_name(), query=RESTYPE)

    assert_error(r, 404, "ContainerNotFound")


def test_delete_if_unmodified_since(gateway, new_container):
    r = gateway.request("DELETE", "/" + new_container, query=RESTYPE,
                        headers={"If-Unmodified-Since": http_date(-86400)})

    assert_error(r, 412, "ConditionNotMet")
    assert (gateway.root / new_container).is_dir()


def test_delete_if_modified_since(gateway, new_container):
    r = gateway.request("DELETE", "/" + new_container, query=RESTYPE,
                        headers={"If-Modified-Since": http_date(-86400)})

    assert r.status == 202, r


def test_delete_made_on_disk(gateway):
    name = new_name("disk")
    (gateway.root / name).mkdir()
    (gateway.root / name / "f").write_bytes(b"x")

    r = gateway.request("DELETE", "/" + name, query=RESTYPE)

    assert r.status == 202, r
    assert not (gateway.root / name).exists()


# List Containers

def list_containers(gateway, query=()):
    return gateway.request("GET", "/", query=[("comp", "list")] + list(query))


def test_list_containers_xml(gateway):
    prefix = new_name("lx")
    create(gateway, prefix + "a", headers={"x-ms-meta-k": "v",
                                           "x-ms-blob-public-access":
                                           "container"})

    r = list_containers(gateway, [("prefix", prefix)])

    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/xml"
    assert r.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>'
                             b'<EnumerationResults ServiceEndpoint="http://')
    x = r.xml()
    assert x.tag == "EnumerationResults"
    assert x.get("ServiceEndpoint") == gateway.endpoint + "/"
    assert children(x) == ["Prefix", "Containers", "NextMarker"]
    assert x.find("Prefix").text == prefix
    assert x.find("NextMarker").text is None

    (c,) = x.find("Containers")
    assert children(c) == ["Name", "Properties"]
    assert c.find("Name").text == prefix + "a"
    p = c.find("Properties")
    assert children(p) == ["Last-Modified", "Etag", "LeaseStatus",
                           "LeaseState", "PublicAccess",
                           "HasImmutabilityPolicy", "HasLegalHold"]
    assert LIST_ETAG.match(p.find("Etag").text)
    assert HTTP_DATE.match(p.find("Last-Modified").text)
    assert p.find("PublicAccess").text == "container"
    assert p.find("LeaseStatus").text == "unlocked"
    assert p.find("LeaseState").text == "available"


def test_list_containers_etag_as_in_properties(gateway):
    name = new_name("le")
    create(gateway, name)

    x = list_containers(gateway, [("prefix", name)]).xml()

    assert x.find("Containers/Container/Properties/Etag").text \
        == props(gateway, name).headers["ETag"]


def test_list_containers_metadata(gateway):
    prefix = new_name("lm")
    create(gateway, prefix + "a", headers={"x-ms-meta-Key": "val"})
    create(gateway, prefix + "b")

    x = list_containers(gateway, [("prefix", prefix),
                                  ("include", "metadata")]).xml()

    a, b = x.find("Containers")
    assert children(a) == ["Name", "Properties", "Metadata"]
    assert [(m.tag, m.text) for m in a.find("Metadata")] == [("Key", "val")]
    assert len(b.find("Metadata")) == 0


def test_list_containers_pages(gateway):
    prefix = new_name("lp")
    names = [prefix + s for s in ("c", "a", "e", "b", "d")]
    for n in names:
        create(gateway, n)

    seen = []
    marker = None
    pages = 0
    while True:
        q = [("prefix", prefix), ("maxresults", "2")]
        if marker:
            q.append(("marker", marker))
        x = list_containers(gateway, q).xml()
        assert x.find("MaxResults").text == "2"
        if marker:
            assert x.find("Marker").text == marker
        seen += [c.find("Name").text for c in x.find("Containers")]
        pages += 1
        marker = x.find("NextMarker").text
        if not marker:
            break

    assert seen == sorted(names)
    assert pages == 3


def test_list_containers_skips_what_is_not_a_container(gateway):
    prefix = new_name("ls")
    create(gateway, prefix + "ok")
    (gateway.root / (prefix + "file")).write_bytes(b"x")
    (gateway.root / (prefix + "UPPER")).mkdir()
    os.symlink(prefix + "ok", gateway.root / (prefix + "link"))

    x = list_containers(gateway, [("prefix", prefix)]).xml()

    assert [c.find("Name").text for c in x.find("Containers")] \
        == [prefix + "ok"]


def test_list_containers_never_lists_state(gateway, new_container):
    x = list_containers(gateway).xml()

    names = [c.find("Name").text for c in x.find("Containers")]
    assert ".blob" not in names
    assert new_container in names


def test_list_containers_empty(gateway):
    r = list_containers(gateway, [("prefix", "nothing-has-this-prefix")])

    assert r.status == 200
    assert b"<Containers />" in r.body
    assert children(r.xml()) == ["Prefix", "Containers", "NextMarker"]


def test_list_containers_maxresults_errors(gateway):
    for value, code in (("0", "OutOfRangeQueryParameterValue"),
                        ("-1", "OutOfRangeQueryParameterValue"),
                        ("abc", "InvalidQueryParameterValue"),
                        ("", "InvalidQueryParameterValue")):
        r = list_containers(gateway, [("maxresults", value)])
        assert_error(r, 400, code)


def test_list_containers_bad_include(gateway):
    r = list_containers(gateway, [("include", "bogus")])

    assert_error(r, 400, "InvalidQueryParameterValue")
    assert r.xml().find("QueryParameterName").text == "include"


# Get Account Information

def test_account_information(gateway):
    r = gateway.request("GET", "/", query=[("restype", "account"),
                                          ("comp", "properties")])

    assert r.status == 200, r
    assert r.body == b""
    assert r.headers["x-ms-sku-name"] == "Standard_LRS"
    assert r.headers["x-ms-account-kind"] == "StorageV2"
    assert r.headers["x-ms-is-hns-enabled"] == "false"


def test_account_information_on_any_path(gateway, new_container):
    for method in ("GET", "HEAD"):
        r = gateway.request(method, "/%s/some/blob" % new_container,
                            query=[("restype", "account"),
                                   ("comp", "properties")])
        assert r.status == 200, r
        assert r.headers["x-ms-account-kind"] == "StorageV2"


# Blob service properties

SERVICE = [("restype", "service"), ("comp", "properties")]


def test_service_properties_default(gateway_factory):
    g = gateway_factory()

    r = g.request("GET", "/", query=SERVICE)

    assert r.status == 200, r
    assert r.headers["Content-Type"] == "application/xml"
    x = r.xml()
    assert x.tag == "StorageServiceProperties"
    assert children(x) == ["Logging", "HourMetrics", "MinuteMetrics", "Cors",
                           "DeleteRetentionPolicy", "StaticWebsite"]
    assert x.find("Logging/Version").text == "1.0"
    assert x.find("DeleteRetentionPolicy/Enabled").text == "false"


def test_service_properties_merge(gateway_factory):
    g = gateway_factory()
    cors = ("<?xml version='1.0' encoding='utf-8'?>\n"
            "<StorageServiceProperties><Cors><CorsRule>"
            "<AllowedOrigins>http://a.example</AllowedOrigins>"
            "<AllowedMethods>GET,PUT</AllowedMethods>"
            "<MaxAgeInSeconds>500</MaxAgeInSeconds>"
            "<ExposedHeaders>x-ms-meta-*</ExposedHeaders>"
            "<AllowedHeaders>x-ms-meta-abc</AllowedHeaders>"
            "</CorsRule></Cors></StorageServiceProperties>")

    r = g.request("PUT", "/", query=SERVICE, body=cors.encode())

    assert r.status == 202, r
    assert r.body == b""
    assert (g.root / ".blob" / "service.xml").is_file()

    logging = ("<StorageServiceProperties><Logging><Version>1.0</Version>"
               "<Delete>true</Delete><Read>false</Read><Write>true</Write>"
               "<RetentionPolicy><Enabled>true</Enabled><Days>7</Days>"
               "</RetentionPolicy></Logging></StorageServiceProperties>")

    assert g.request("PUT", "/", query=SERVICE,
                     body=logging.encode()).status == 202

    x = g.request("GET", "/", query=SERVICE).xml()
    assert children(x)[:4] == ["Logging", "HourMetrics", "MinuteMetrics",
                               "Cors"]
    assert x.find("Logging/Delete").text == "true"
    assert x.find("Logging/RetentionPolicy/Days").text == "7"
    assert x.find("Cors/CorsRule/AllowedOrigins").text == "http://a.example"
    assert x.find("Cors/CorsRule/MaxAgeInSeconds").text == "500"


def test_service_properties_malformed(gateway_factory):
    g = gateway_factory()

    for body in (b"<StorageServiceProperties><Logging>",
                 b"<Other/>",
                 b"<StorageServiceProperties><Bogus/>"
                 b"</StorageServiceProperties>",
                 b'<!DOCTYPE d [<!ENTITY e "x">]><StorageServiceProperties>'
                 b"<Cors>&e;</Cors></StorageServiceProperties>"):
        r = g.request("PUT", "/", query=SERVICE, body=body)
        assert_error(r, 400, "InvalidXmlDocument")

    assert not (g.root / ".blob" / "service.xml").exists()


def test_service_properties_empty_body(gateway):
    r = gateway.request("PUT", "/", query=SERVICE)

    assert_error(r, 400, "InvalidXmlDocument")


def test_python_sdk_containers(gateway):
    from azure.storage.blob import BlobServiceClient, PublicAccess

    svc = BlobServiceClient.from_connection_string(gateway.conn_str)
    prefix = new_name("sdk")

    for i in range(3):
        svc.create_container(prefix + str(i), metadata={"n": str(i)},
                             public_access=PublicAccess.Blob if i == 0
                             else None)

    listed = list(svc.list_containers(name_starts_with=prefix,
                                      include_metadata=True,
                                      results_per_page=2))
    assert [c.name for c in listed] == [prefix + "0", prefix + "1",
                                        prefix + "2"]
    assert listed[1].metadata == {"n": "1"}
    assert listed[0].public_access == "blob"

    cc = svc.get_container_client(prefix + "1")
    p = cc.get_container_properties()
    assert p.metadata == {"n": "1"}
    assert p.etag == listed[1].etag

    cc.set_container_metadata({"m": "x"})
    assert cc.get_container_properties().metadata == {"m": "x"}

    info = svc.get_account_information()
    assert info["account_kind"] == "StorageV2"
    assert info["sku_name"] == "Standard_LRS"

    cc.delete_container()
    assert prefix + "1" not in [c.name for c in svc.list_containers(
        name_starts_with=prefix)]


def test_python_sdk_acl_and_service_properties(gateway_factory):
    import datetime

    from azure.storage.blob import (AccessPolicy, BlobServiceClient,
                                    ContainerSasPermissions, CorsRule,
                                    PublicAccess, RetentionPolicy)

    g = gateway_factory()
    svc = BlobServiceClient.from_connection_string(g.conn_str)
    cc = svc.create_container(new_name("sdkacl"))

    policy = AccessPolicy(permission=ContainerSasPermissions(read=True,
                                                             list=True),
                          start=datetime.datetime(2026, 1, 1),
                          expiry=datetime.datetime(2030, 1, 1))
    cc.set_container_access_policy(signed_identifiers={"pol1": policy},
                                   public_access=PublicAccess.Container)

    acl = cc.get_container_access_policy()
    assert acl["public_access"] == "container"
    (si,) = acl["signed_identifiers"]
    assert si.id == "pol1"
    assert si.access_policy.permission == "rl"
    assert si.access_policy.expiry.startswith("2030-01-01T00:00:00")

    assert svc.get_service_properties()["cors"] == []

    svc.set_service_properties(
        cors=[CorsRule(["http://x.example"], ["GET"])],
        delete_retention_policy=RetentionPolicy(enabled=True, days=3))

    p = svc.get_service_properties()
    assert [r.allowed_origins for r in p["cors"]] == ["http://x.example"]
    assert p["delete_retention_policy"].enabled is True
    assert p["delete_retention_policy"].days == 3
    assert p["analytics_logging"].version == "1.0"

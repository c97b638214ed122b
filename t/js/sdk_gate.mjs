// Gate for the @azure/storage-blob JS SDK, run by t/test_client_js.py:
//   node sdk_gate.mjs
// with BLOB_CONN_STR (connection string), BLOB_CONTAINER (a container that
// does not exist yet), BLOB_DATA (input file to upload) and BLOB_OUT (where
// to write the full download).  Every step asserts; any failure exits
// non-zero.  On success it prints one JSON line with what it saw, and
// leaves the blob "keep/meta.bin" for the caller to cross-check.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

// the npm packages live in t/node, not next to this script
const require = createRequire(new URL("../node/package.json",
                                      import.meta.url));
const { BlobServiceClient } = require("@azure/storage-blob");

const BLOCK = 64 * 1024;

const env = (name) => {
    const v = process.env[name];
    assert.ok(v, `${name} is not set`);
    return v;
};

const data = readFileSync(env("BLOB_DATA"));
const service = BlobServiceClient.fromConnectionString(env("BLOB_CONN_STR"),
    { retryOptions: { maxTries: 1 } });
const container = service.getContainerClient(env("BLOB_CONTAINER"));
const report = {};

function step(name) {
    process.stdout.write(`step: ${name}\n`);
}

async function collect(iter) {
    const out = [];
    for await (const item of iter) {
        out.push(item);
    }
    return out;
}

async function expectStatus(promise, statuses, what) {
    try {
        await promise;
    } catch (e) {
        assert.ok(statuses.includes(e.statusCode),
                  `${what}: status ${e.statusCode} ${e.message}`);
        return e.statusCode;
    }
    assert.fail(`${what}: succeeded, expected ${statuses}`);
}

async function streamToBuffer(stream) {
    const chunks = [];
    for await (const c of stream) {
        chunks.push(c);
    }
    return Buffer.concat(chunks);
}

step("create container");
await container.create({ metadata: { owner: "js-gate" } });
assert.equal(await container.exists(), true);
const cprops = await container.getProperties();
assert.deepEqual(cprops.metadata, { owner: "js-gate" });
await expectStatus(container.create(), [409], "second create");

step("uploadData in blocks");
const big = container.getBlockBlobClient("dir/big.bin");
const up = await big.uploadData(data, {
    blockSize: BLOCK,
    maxSingleShotSize: BLOCK,
    concurrency: 4,
    metadata: { source: "js", size: String(data.length) },
    blobHTTPHeaders: { blobContentType: "application/x-js-gate" },
});
assert.ok(up.etag);
const bl = await big.getBlockList("all");
const nblocks = Math.ceil(data.length / BLOCK);
assert.equal(bl.committedBlocks.length, nblocks);
assert.equal(bl.uncommittedBlocks.length, 0);
assert.equal(bl.committedBlocks.reduce((s, b) => s + b.size, 0),
             data.length);
assert.equal(bl.committedBlocks[0].size, BLOCK);
report.blocks = nblocks;

step("single-shot uploads");
const small = ["a/1.txt", "a/2.txt", "a/b/3.txt", "b/4.txt", "top.txt",
               "sp ace/ü.txt"];
for (const n of small) {
    await container.getBlockBlobClient(n).upload(n, Buffer.byteLength(n));
}

step("list flat, with prefix, by hierarchy");
const all = (await collect(container.listBlobsFlat())).map((b) => b.name);
const expected = ["dir/big.bin", ...small].sort(
    (x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
assert.deepEqual(all, expected);
const underA = await collect(container.listBlobsFlat({ prefix: "a/" }));
assert.deepEqual(underA.map((b) => b.name),
                 ["a/1.txt", "a/2.txt", "a/b/3.txt"]);
assert.deepEqual(underA.map((b) => b.properties.contentLength), [7, 7, 9]);
const bigItem =
    (await collect(container.listBlobsFlat({ prefix: "dir/" })))[0];
assert.equal(bigItem.properties.contentLength, data.length);
assert.equal(bigItem.properties.contentType, "application/x-js-gate");
const top = (await collect(container.listBlobsByHierarchy("/")))
    .map((i) => `${i.kind}:${i.name}`);
assert.deepEqual(top.slice().sort(),
                 ["blob:top.txt", "prefix:a/", "prefix:b/", "prefix:dir/",
                  "prefix:sp ace/"]);
const sub = (await collect(container.listBlobsByHierarchy("/",
                                                          { prefix: "a/" })))
    .map((i) => `${i.kind}:${i.name}`);
assert.deepEqual(sub.slice().sort(),
                 ["blob:a/1.txt", "blob:a/2.txt", "prefix:a/b/"]);
const pages = [];
for await (const page of
           container.listBlobsFlat().byPage({ maxPageSize: 2 })) {
    pages.push(page.segment.blobItems.map((b) => b.name));
}
assert.equal(pages.length, Math.ceil(expected.length / 2));
assert.deepEqual(pages.flat(), expected);

step("download ranged and full");
for (const [off, len] of [[0, 1], [1, 4096], [BLOCK - 3, 7],
                          [data.length - 10, 10], [12345, 3 * BLOCK]]) {
    const r = await big.download(off, len);
    assert.equal(r.contentLength, len);
    const got = await streamToBuffer(r.readableStreamBody);
    assert.ok(got.equals(data.subarray(off, off + len)),
              `range ${off}+${len}`);
}
const tail = await streamToBuffer(
    (await big.download(data.length - 100)).readableStreamBody);
assert.ok(tail.equals(data.subarray(data.length - 100)));
const full = await big.downloadToBuffer(0, undefined,
                                        { blockSize: BLOCK, concurrency: 4 });
assert.ok(full.equals(data), "chunked full download");
const whole = await big.download();
assert.equal(whole.contentLength, data.length);
const wholeBuf = await streamToBuffer(whole.readableStreamBody);
assert.ok(wholeBuf.equals(data), "single full download");
writeFileSync(env("BLOB_OUT"), wholeBuf);
await expectStatus(big.download(data.length + 10, 5), [416],
                   "range past the end");

step("metadata and properties");
const keep = container.getBlockBlobClient("keep/meta.bin");
const keepData = data.subarray(0, 3 * BLOCK + 17);
const md5 = createHash("md5").update(keepData).digest();
await keep.uploadData(keepData, {
    blockSize: BLOCK, maxSingleShotSize: BLOCK, concurrency: 4,
    metadata: { alpha: "1", beta: "two words" },
    blobHTTPHeaders: {
        blobContentType: "text/x-gate", blobContentLanguage: "de",
        blobContentDisposition: "inline", blobCacheControl: "max-age=5",
        blobContentEncoding: "identity", blobContentMD5: md5,
    },
});
let p = await keep.getProperties();
assert.deepEqual(p.metadata, { alpha: "1", beta: "two words" });
assert.equal(p.contentLength, keepData.length);
assert.equal(p.contentType, "text/x-gate");
assert.equal(p.contentLanguage, "de");
assert.equal(p.contentDisposition, "inline");
assert.equal(p.cacheControl, "max-age=5");
assert.equal(p.contentEncoding, "identity");
assert.ok(Buffer.from(p.contentMD5).equals(md5));
assert.equal(p.blobType, "BlockBlob");
const etag1 = p.etag;
await keep.setMetadata({ gamma: "3", delta: "x y" });
p = await keep.getProperties();
assert.deepEqual(p.metadata, { gamma: "3", delta: "x y" });
assert.notEqual(p.etag, etag1);
report.keep_etag = p.etag;

step("conditional writes");
await expectStatus(keep.upload("nope", 4,
                               { conditions: { ifNoneMatch: "*" } }),
                   [409, 412], "If-None-Match: * on an existing blob");
await expectStatus(keep.upload("nope", 4, { conditions: { ifMatch: etag1 } }),
                   [412], "If-Match with a stale etag");
p = await keep.getProperties();
assert.equal(p.etag, report.keep_etag);
assert.equal(p.contentLength, keepData.length);
const created = container.getBlockBlobClient("cond/new.txt");
await created.upload("new", 3, { conditions: { ifNoneMatch: "*" } });
const e = (await created.getProperties()).etag;
await created.upload("newer", 5, { conditions: { ifMatch: e } });
const newer =
    await streamToBuffer((await created.download()).readableStreamBody);
assert.equal(newer.toString(), "newer");

step("delete");
await big.delete();
assert.equal(await big.exists(), false);
await expectStatus(big.getProperties(), [404], "properties after delete");
await expectStatus(big.delete(), [404], "second delete");
await created.delete();
for (const n of small) {
    await container.getBlockBlobClient(n).delete();
}
const left = (await collect(container.listBlobsFlat())).map((b) => b.name);
assert.deepEqual(left, ["keep/meta.bin"]);

report.ok = true;
process.stdout.write(JSON.stringify(report) + "\n");

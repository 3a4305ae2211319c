// A real S3-compatible server (s3rver) in its own process, started by test/helpers/s3-server.ts:
// node --openssl-legacy-provider s3-server-main.mjs DIR PORT BUCKET. s3rver signs list continuation
// tokens with DES, which OpenSSL 3 only offers through its legacy provider. Prints {"port":N} when ready.
import S3rver from "s3rver";

const [directory, port, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: "127.0.0.1",
  port: Number(port),
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));

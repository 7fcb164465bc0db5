// kafkajs 2 in the compatibility suite (protocol-tests/compat/): the same subcommands and output
// lines as protocol-tests/python/compat_common.py describes.
//
// kafkajs has no assign(): reading without a group is done by a consumer in a fresh group of its
// own, and seeks happen inside a running consumer (kafkajs' seek needs consumer.run).
'use strict'

const { Kafka, logLevel, CompressionTypes } = require('kafkajs')
const kafkajsVersion = require('kafkajs/package.json').version

const CLIENT = 'kafkajs'
const DEADLINE_MS = 100000
const PAD = 'weir'.repeat(40)
const SEEK_OFFSET = 6
const SEEK_TS_DELTA = 3500

setTimeout(() => {
  console.error(`FAIL: still running after the ${DEADLINE_MS / 1000} s deadline`)
  process.exit(3)
}, DEADLINE_MS).unref()

const out = (...parts) => process.stdout.write(parts.join(' ') + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const text = (b) => (b === null || b === undefined ? '-' : b.toString())
const headerText = (hs) => {
  const entries = Object.entries(hs || {})
  return entries.length ? entries.map(([k, v]) => `${k}=${text(v)}`).join(',') : '-'
}
const rec = (topic, partition, m) =>
  out('REC', topic, partition, m.offset, m.timestamp, text(m.key), text(m.value), headerText(m.headers))

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`)
}

function client(bootstrap) {
  return new Kafka({
    clientId: 'weir-compat',
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    // Logs go to stderr: stdout carries the machine-read lines.
    logCreator: () => ({ namespace, log }) => console.error(namespace, JSON.stringify(log)),
    retry: { retries: 8, initialRetryTime: 100 },
  })
}

async function waitFor(what, ms, predicate) {
  const end = Date.now() + ms
  while (!predicate()) {
    check(Date.now() < end, `timed out waiting for ${what}`)
    await sleep(50)
  }
}

const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }

async function info() {
  out('VERSION', kafkajsVersion)
  // Snappy, LZ4 and ZSTD need external codec packages registered by the application.
  out('CODECS', Object.keys(CODECS).join(','))
}

async function topics(bootstrap, auto, adminTopic) {
  const kafka = client(bootstrap)
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: auto, messages: [{ key: 'auto', value: 'auto' }] })
  await producer.disconnect()
  const admin = kafka.admin()
  await admin.connect()
  let md = await admin.fetchTopicMetadata({ topics: [auto] })
  out('AUTO', md.topics[0].partitions.length)
  check(await admin.createTopics({ topics: [{ topic: adminTopic, numPartitions: 4, replicationFactor: 1 }] }), 'created')
  md = await admin.fetchTopicMetadata({ topics: [adminTopic] })
  out('DESCRIBED', md.topics[0].partitions.length)
  await admin.deleteTopics({ topics: [adminTopic], timeout: 20000 })
  const end = Date.now() + 20000
  while ((await admin.listTopics()).includes(adminTopic)) {
    check(Date.now() < end, 'deleted topic still listed')
    await sleep(200)
  }
  out('DELETED')
  await admin.disconnect()
}

async function produce(bootstrap, count, tsBase, ...specs) {
  count = Number(count)
  tsBase = Number(tsBase)
  const kafka = client(bootstrap)
  for (const spec of specs) {
    const [topic, codec, mode] = spec.split(':')
    const producer = kafka.producer(mode === 'idempotent' ? { idempotent: true } : {})
    await producer.connect()
    // One send per record: kafkajs reports a base offset per partition, not per record.
    for (let i = 0; i < count; i++) {
      const key = i % 4 === 3 ? null : `k${i % 5}`
      const [md] = await producer.send({
        topic,
        compression: CODECS[codec],
        messages: [
          {
            key,
            value: `${topic}-${i}.${PAD}`,
            headers: { seq: String(i), client: CLIENT },
            timestamp: String(tsBase + i),
          },
        ],
      })
      out('ACK', topic, i, md.partition, md.baseOffset)
    }
    await producer.disconnect()
  }
}

async function consume(bootstrap, ...specs) {
  const wanted = specs.map((s) => {
    const at = s.lastIndexOf(':')
    return [s.slice(0, at), Number(s.slice(at + 1))]
  })
  const total = wanted.reduce((sum, [, n]) => sum + n, 0)
  const consumer = client(bootstrap).consumer({
    groupId: `compat-kafkajs-reader-${process.pid}-${Date.now()}`,
    maxWaitTimeInMs: 200,
  })
  await consumer.connect()
  await consumer.subscribe({ topics: wanted.map(([t]) => t), fromBeginning: true })
  let got = 0
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      rec(topic, partition, message)
      got++
    },
  })
  await waitFor(`${total} records`, 40000, () => got >= total)
  await sleep(500)
  await consumer.disconnect()
}

async function member(bootstrap, group, topic) {
  const consumer = client(bootstrap).consumer({
    groupId: group,
    sessionTimeout: 3000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  })
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const parts = (payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b)
    out('ASSIGNED', parts.length ? parts.join(',') : '-')
  })
  let stopping = false
  process.on('SIGTERM', async () => {
    if (stopping) return
    stopping = true
    await consumer.disconnect()
    out('CLOSED')
    process.exit(0)
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      const next = (BigInt(message.offset) + 1n).toString()
      try {
        await consumer.commitOffsets([{ topic, partition, offset: next }])
      } catch (e) {
        console.error(`commit failed, not processed: ${e}`)
        throw e
      }
      rec(topic, partition, message)
    },
  })
  await new Promise(() => {})
}

async function seek(bootstrap, topic, ts) {
  ts = Number(ts)
  const kafka = client(bootstrap)
  const consumer = kafka.consumer({ groupId: `compat-kafkajs-seek-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const seen = []
  await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => seen.push(Number(message.offset)) })
  await waitFor('10 records', 20000, () => seen.length >= 10)
  out('READ', seen.length)
  // Each seek goes back behind what was read, once everything was read: the next record can
  // only come from the seek.
  const firstAfter = async (offset) => {
    await waitFor('the end of the partition', 20000, () => seen[seen.length - 1] === 9)
    seen.length = 0
    consumer.seek({ topic, partition: 0, offset: String(offset) })
    await waitFor('a record after the seek', 20000, () => seen.length > 0)
    return seen[0]
  }
  out('BEGINNING', await firstAfter(-2))
  out('OFFSET', await firstAfter(SEEK_OFFSET))
  const admin = kafka.admin()
  await admin.connect()
  const [found] = await admin.fetchTopicOffsetsByTimestamp(topic, ts + SEEK_TS_DELTA)
  const [latest] = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  out('TIMESTAMP', await firstAfter(found.offset))
  await waitFor('the end of the partition', 20000, () => seen[seen.length - 1] === 9)
  seen.length = 0
  // kafkajs' seek to the special offset -1 re-resolves the partition by the subscription's
  // fromBeginning (OffsetManager.resolveOffsets), so the end comes from ListOffsets.
  consumer.seek({ topic, partition: 0, offset: latest.high })
  await sleep(1000)
  // kafkajs has no position(): no ENDPOS line.
  out('END', seen.length)
  await consumer.disconnect()
}

const commands = { info, topics, produce, consume, member, seek }
const [command, ...args] = process.argv.slice(2)
if (!commands[command]) {
  console.error(`FAIL: usage: compat_kafkajs.js {${Object.keys(commands).join('|')}} ARGS...`)
  process.exit(2)
}
commands[command](...args).then(
  () => process.exit(0),
  (e) => {
    console.error(e && e.stack ? e.stack : e)
    console.error(`FAIL: ${command} failed: ${e}`)
    process.exit(1)
  }
)

// kafkajs 2 over PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL: the contract in
// protocol-tests/python/secure_common.py. kafkajs has no assign(): the records are read back by a
// consumer in a fresh group of its own.
'use strict'

const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const COUNT = 5
setTimeout(() => {
  console.error('FAIL: still running after the 60 s deadline')
  process.exit(3)
}, 60000).unref()

const out = (...parts) => process.stdout.write(parts.join(' ') + '\n')
const fail = (message) => {
  console.error('FAIL: ' + message)
  process.exit(1)
}

const [command, bootstrap, topic, protocol, mechanism, user, password, ca, cert, key] =
  process.argv.slice(2)
const opt = (v) => (v === '-' ? undefined : v)

function kafka () {
  const config = { clientId: 'secure-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } }
  if (protocol.endsWith('SSL')) {
    config.ssl = { ca: [fs.readFileSync(ca)] }
    if (opt(cert)) {
      config.ssl.cert = fs.readFileSync(cert)
      config.ssl.key = fs.readFileSync(key)
    }
  }
  if (protocol.startsWith('SASL_')) {
    config.sasl = { mechanism: mechanism.toLowerCase(), username: user, password }
  }
  return new Kafka(config)
}

async function roundtrip () {
  const k = kafka()
  const producer = k.producer()
  await producer.connect()
  const messages = [...Array(COUNT).keys()].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 }))
  const acks = await producer.send({ topic, messages })
  await producer.disconnect()
  if (acks.length !== 1 || acks[0].errorCode !== 0) fail(`acks ${JSON.stringify(acks)}`)
  out('ACKED', COUNT)
  const consumer = k.consumer({ groupId: `secure-kafkajs-${topic}` })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const values = []
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (partition === 0) values.push(message.value.toString())
        if (values.length >= COUNT) resolve()
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  const expected = [...Array(COUNT).keys()].map((i) => `v${i}`)
  if (JSON.stringify(values) !== JSON.stringify(expected)) fail(`read back ${values}`)
  out('READ', values.length, values[0], values[values.length - 1])
}

async function badauth () {
  const producer = kafka().producer()
  try {
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'never' }] })
  } catch (e) {
    const text = `${e.name}: ${e.message}`
    if (!/uthenticat/.test(text)) fail(`not an authentication error: ${text}`)
    out('AUTHFAILED', text)
    return
  }
  fail('produced with wrong credentials')
}

const commands = { roundtrip, badauth }
if (!commands[command] || process.argv.length !== 12) {
  fail('usage: secure_kafkajs.js roundtrip|badauth BOOTSTRAP TOPIC PROTOCOL MECHANISM USER PASSWORD CA CERT KEY')
}
commands[command]().then(() => process.exit(0), (e) => fail(`${command} failed: ${e.stack || e}`))

// The anchor every HTTP benchmark is divided by: Fastify with one JSON route and no work,
// started the same way as peakride (a child process that logs when it listens).
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/echo', async (request, reply) => reply.code(201).send({ ok: true, received: request.body }));
app.get('/readyz', async () => ({ status: 'ready' }));
const url = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ msg: 'peakride ready', url })}\n`);
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));

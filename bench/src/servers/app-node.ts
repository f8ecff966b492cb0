/** The benchmark routes as a plain `node:http` request handler. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { HELLO, memory, slow, work } from './common.js';

/** `GET /`, `/work`, `/slow?ms=&id=` and `/mem`; `server` is read when `/mem` is asked for. */
export function nodeHandler(server: () => Server): (req: IncomingMessage, res: ServerResponse) => void {
  return function benchHandler(req, res) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (body: string): void => {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(body);
    };
    switch (url.pathname) {
      case '/':
        return send(HELLO);
      case '/work':
        return void work().then(() => send('work done'));
      case '/slow':
        return void slow(url.searchParams.get('ms'), url.searchParams.get('id')).then(() => send('slow done'));
      case '/mem':
        return void memory(server()).then((report) => send(JSON.stringify(report)));
      default:
        res.statusCode = 404;
        return send('not found');
    }
  };
}

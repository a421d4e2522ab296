// Runs graphql-http's GraphQL-over-HTTP server audits against the URL given as the first
// argument and prints one JSON array: [{id, name, status, reason}] (status: ok, warn, error).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({
    id: audit.id,
    name: audit.name,
    status: result.status,
    reason: result.status === 'ok' ? null : String(result.reason),
  });
}
console.log(JSON.stringify(results));

/**
 * The client's generated types: `openapi.ts` from `openapi.json` (openapi-typescript). The
 * staleness test (test/client/generated.test.ts) runs the same function, so what is committed must
 * equal what this produces from the server's live document.
 */
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

export async function typesFromDocument(doc: object): Promise<string> {
  return COMMENT_HEADER + astToString(await openapiTS(doc as Parameters<typeof openapiTS>[0]));
}

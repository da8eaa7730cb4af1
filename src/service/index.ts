/** The service layer both transports stand on (docs/ARCHITECTURE.md, "Transports"). */
export { type ApiAuth, authOf, tokenMatcher } from "./auth.js";
export { EventFollower, type FollowEnd, type FollowSink } from "./follower.js";
export { EXACT_INTEGER_DESCRIPTION, stringifyExact } from "./json.js";
export { Service, type ServiceOptions } from "./service.js";
export type { Transfer } from "./transfer.js";

// The exact rule the README gives for a least-privilege user (SEC-28),
// with a test password.
export const ACL_RULE =
  'on >s3cret-test-password resetkeys ~cloakroom:* resetchannels -@all ' +
  '+ping +info +get +eval +evalsha ' +
  '+set +del +exists +type +pexpire +zadd +zrem +zcard +zrange +zremrangebyscore +wait ' +
  '+zrangebyscore +zscore +time';

/** What an ioredis `Cluster` needs on top: topology discovery, its ready check, and naming its refresher connection. */
export const CLUSTER_ACL_EXTRA = '+cluster|slots +cluster|info +client|setname';

/**
 * What `store.watch` (the near cache's invalidation channel) needs on top:
 * its own connection's id, turning tracking on, naming that connection,
 * and subscribing to the invalidation channel.
 */
export const WATCH_ACL_EXTRA =
  '+client|id +client|tracking +client|setname +subscribe &__redis__:invalidate';

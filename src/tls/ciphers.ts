/**
 * The TLS 1.2 cipher suites offered when neither `--ciphers` nor oVirt's `SSL_CIPHERS` says
 * otherwise: Mozilla's "intermediate" profile without its DHE suites, i.e. ECDHE key exchange
 * with AES-GCM or ChaCha20-Poly1305 only. No CBC suite (LUCKY13-class padding oracles), no
 * static RSA key exchange (no forward secrecy). TLS 1.3 suites are not affected by this list.
 */
export const DEFAULT_TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

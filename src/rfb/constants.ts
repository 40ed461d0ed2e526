/**
 * RFB (VNC) protocol numbers from RFC 6143 and the VeNCrypt extension, named once so the
 * handshake, the demo server and the tests never spell a magic number.
 */

/** The only protocol version novnc-proxy speaks and expects: 12 bytes including the newline. */
export const RFB_VERSION_3_8 = "RFB 003.008\n";
export const RFB_VERSION_LENGTH = 12;

/** Security types (RFC 6143 7.1.2, VeNCrypt). */
/** RFB 3.3: the server refuses (a reason string follows). */
export const SECURITY_TYPE_INVALID = 0;
export const SECURITY_TYPE_NONE = 1;
export const SECURITY_TYPE_VNC_AUTH = 2;
export const SECURITY_TYPE_VENCRYPT = 19;

/** VeNCrypt subtype: TLS with X.509 certificates, then VNC authentication inside it. */
export const VENCRYPT_SUBTYPE_X509VNC = 261;

/** SecurityResult words. */
export const SECURITY_RESULT_OK = 0;
export const SECURITY_RESULT_FAILED = 1;

/** VNC authentication challenge and response length. */
export const VNC_AUTH_CHALLENGE_LENGTH = 16;

/** Client-to-server message types (RFC 6143 7.5). */
export const CLIENT_SET_PIXEL_FORMAT = 0;
export const CLIENT_SET_ENCODINGS = 2;
export const CLIENT_FRAMEBUFFER_UPDATE_REQUEST = 3;
export const CLIENT_KEY_EVENT = 4;
export const CLIENT_POINTER_EVENT = 5;
export const CLIENT_CUT_TEXT = 6;
/** Client message types beyond RFC 6143 7.5 that noVNC sends once a server advertises them. */
export const CLIENT_ENABLE_CONTINUOUS_UPDATES = 150;
export const CLIENT_FENCE = 248;
export const CLIENT_XVP = 250;
export const CLIENT_SET_DESKTOP_SIZE = 251;
export const CLIENT_QEMU = 255;
/** QEMU client message subtypes (type 255). */
export const QEMU_EXTENDED_KEY_EVENT = 0;
export const QEMU_AUDIO = 1;

/** Server-to-client message types (RFC 6143 7.6). */
export const SERVER_FRAMEBUFFER_UPDATE = 0;
export const SERVER_SET_COLOUR_MAP_ENTRIES = 1;
export const SERVER_BELL = 2;
export const SERVER_CUT_TEXT = 3;

/** Encodings (RFC 6143 7.7). */
export const ENCODING_RAW = 0;

/** Byte size of the 16-byte PIXEL_FORMAT structure. */
export const PIXEL_FORMAT_LENGTH = 16;

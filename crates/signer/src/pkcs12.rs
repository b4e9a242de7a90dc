//! PKCS#12 (.p12 / .pfx) import. (Being written.)

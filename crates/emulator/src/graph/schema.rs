//! Graph object shapes: full default objects per type, read-only properties.

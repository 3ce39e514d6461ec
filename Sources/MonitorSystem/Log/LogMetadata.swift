import Logging

/// The metadata precedence every handler here applies: the logger's own, then the provider's
/// (task-local context), then the call site's, each overriding the one before.
enum LogMetadata {
    static func merge(
        handler: Logger.Metadata, provider: Logger.MetadataProvider?, event: Logger.Metadata?
    ) -> Logger.Metadata {
        var merged = handler
        if let provided = provider?.get() { merged.merge(provided) { _, new in new } }
        if let event { merged.merge(event) { _, new in new } }
        return merged
    }
}

extension SNSMessage {
    /// The exact bytes SNS signed, built as AWS documents it: for each signed field in byte
    /// order of its name, `Name\nValue\n`.
    ///
    /// Notification signs Message, MessageId, Subject (only when present), Timestamp, TopicArn,
    /// Type; both confirmation types sign Message, MessageId, SubscribeURL, Timestamp, Token,
    /// TopicArn, Type. SigningCertURL, UnsubscribeURL and MessageAttributes are never signed.
    public var stringToSign: String {
        var fields: [(String, String)] = [("Message", message), ("MessageId", messageID)]
        switch type {
        case .notification:
            if let subject { fields.append(("Subject", subject)) }
        case .subscriptionConfirmation, .unsubscribeConfirmation:
            fields.append(("SubscribeURL", subscribeURL ?? ""))
        }
        fields.append(("Timestamp", timestamp))
        if type != .notification {
            fields.append(("Token", token ?? ""))
        }
        fields.append(("TopicArn", topicARN))
        fields.append(("Type", type.rawValue))

        var text = ""
        for (name, value) in fields {
            text += name
            text += "\n"
            text += value
            text += "\n"
        }
        return text
    }
}

## Orders, requests and client messages (issue 17 §3, §4)

client-request =
    📨 A request from client <b>{ $client }</b>
    { $text }
client-request-phone = Phone to call back: { $phone }

tl-channel-bot = bot
tl-channel-business = chat
tl-message-in = from the client
tl-message-out = to the client ({ $author })
tl-author-bot = bot
tl-author-order-status = order status
tl-author-api = integration { $name }
tl-author-welcome = welcome message
tl-author-auto-reply = auto-reply, out of hours
tl-author-flood-notice = notice: too many messages
tl-message-edited = edited
tl-message-deleted = deleted
tl-message-failed = not delivered
tl-kind-photo = photo
tl-kind-document = file
tl-kind-voice = voice
tl-kind-video = video
tl-kind-video_note = video note
tl-kind-audio = audio
tl-kind-animation = GIF
tl-kind-sticker = sticker
tl-kind-location = location
tl-kind-contact = contact
tl-kind-other = message

err-client-no-conversation = The client has not written to the company bot yet — there is no chat to write to.
err-message-empty = { invalid-text }
err-message-too-long = The message is longer than 4096 characters.
err-request-empty = Write what you need in one message.
err-request-too-long = Too long: { $limit } characters at most.

client-btn-orders = 📦 My orders
client-btn-request = ✍️ Leave a request
client-cancel = Cancel
client-orders-title = Your orders ({ $count }):
client-order-line = 📦 <b>{ $title }</b> — { $status }
client-orders-none = You have no open orders right now.
client-orders-unknown = We do not know who you are yet. Share your phone number with the button below and your orders will show here.
client-request-ask = Write what you need in one message; you may add a phone to call you back. Changed your mind? Write “Cancel”.
client-request-taken = Thank you! Your request is in — a manager will get in touch.
client-request-canceled = All right, no request sent.

## Telegram Business: личные чаты продавца в журнале (bot/handlers/business.py)
business-connected =
    💼 Telegram Business подключён: ваши переписки с клиентами записываются в их карточки, в обе стороны.
    Бот никогда не пишет от вашего имени. /business — список чатов; запись любого можно выключить.
business-disconnected = 💼 Telegram Business отключён: ваши чаты больше не записываются.
business-new-chat =
    💬 Ваш чат в Telegram с <b>{ $client }</b> теперь записывается в карточку клиента.
    Личная переписка? Не записывайте её: записанное будет удалено.
business-chat-excluded = 🚫 Чат с <b>{ $client }</b> не записывается; записанное из него удалено.
business-chat-included = ✅ Чат с <b>{ $client }</b> снова записывается, с этого момента.
btn-business-exclude = 🚫 Не записывать этот чат
btn-business-include = ✅ Записывать этот чат
business-how-to =
    Чтобы переписка с клиентами в вашем Telegram попадала в карточки (Telegram Business):
    Telegram → Настройки → Telegram для бизнеса → Чат-боты → { $bot }, и выберите чаты.
    Бот только читает: от вашего имени он никогда не пишет.
business-status-active = 💼 Telegram Business: подключён, ваши чаты записываются.
business-status-disabled = 💼 Telegram Business: выключен, ничего не записывается.
business-status-refused = 💼 Telegram Business: этот аккаунт не в команде, ничего не записывается.
business-chats-head = Ваши чаты (✅ записывается, 🚫 нет); нажмите, чтобы переключить:
business-chats-none = Записанных чатов пока нет: они появятся после первого сообщения.
err-business-chat-not-found = Это не ваш чат.

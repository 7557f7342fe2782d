## Orders, requests and client messages (issue 17 §3, §4)

client-request =
    📨 Заявка от клиента <b>{ $client }</b>
    { $text }
client-request-phone = Телефон для связи: { $phone }

tl-channel-bot = бот
tl-channel-business = чат
tl-message-in = от клиента
tl-message-out = клиенту ({ $author })
tl-author-bot = бот
tl-author-order-status = статус заказа
tl-author-api = интеграция { $name }
tl-author-welcome = приветствие
tl-author-auto-reply = автоответ в нерабочее время
tl-author-flood-notice = уведомление: слишком много сообщений
tl-message-edited = изменено
tl-message-deleted = удалено
tl-message-failed = не доставлено
tl-kind-photo = фото
tl-kind-document = файл
tl-kind-voice = голосовое
tl-kind-video = видео
tl-kind-video_note = кружок
tl-kind-audio = аудио
tl-kind-animation = GIF
tl-kind-sticker = стикер
tl-kind-location = место
tl-kind-contact = контакт
tl-kind-other = сообщение

err-client-no-conversation = Клиент ещё не писал боту компании — написать ему некуда.
err-message-empty = { invalid-text }
err-message-too-long = Сообщение длиннее 4096 символов.
err-request-empty = Напишите, что вам нужно, одним сообщением.
err-request-too-long = Слишком длинно: не больше { $limit } символов.

client-btn-orders = 📦 Мои заказы
client-btn-request = ✍️ Оставить заявку
client-cancel = Отмена
client-orders-title = Ваши заказы ({ $count }):
client-order-line = 📦 <b>{ $title }</b> — { $status }
client-orders-none = Открытых заказов сейчас нет.
client-orders-unknown = Мы пока не знаем, кто вы. Поделитесь номером телефона кнопкой ниже — и заказы будут видны здесь.
client-request-ask = Напишите одним сообщением, что вам нужно; можно добавить телефон для связи. Передумали — напишите «Отмена».
client-request-taken = Спасибо! Заявка принята — менеджер свяжется с вами.
client-request-canceled = Хорошо, заявку не отправляем.

